#include "run/writer_steps.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "base/digest.h"
#include "base/process.h"  // shell_quote
#include "base/text.h"

namespace fs = std::filesystem;

namespace dcslab {

namespace {

constexpr const char* kWriterSubject = "dcslab-writer";

Expected<std::string> read_local(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Failure::not_found("cannot read " + p.string());
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

bool on_node(const std::string& s) { return s.rfind("node:", 0) == 0; }

X509NamePtr writer_name() {
  X509NamePtr name(X509_NAME_new(), X509_NAME_free);
  X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(kWriterSubject), -1, -1, 0);
  return name;
}

// A positive serial (or a unique name part): random bytes with the top bit cleared.
std::string random_hex(int bytes) {
  std::string b = random_bytes(static_cast<std::size_t>(bytes));
  b[0] = static_cast<char>(b[0] & 0x7f);
  return hex(b);
}

}  // namespace

Expected<X509Ptr> sign_writer_cert(const X509& ca_cert, const EVP_PKEY& ca_key, const EVP_PKEY& key) {
  X509Ptr x(X509_new(), X509_free);
  if (!x) return Failure::error(openssl_error("X509_new"));
  X509_set_version(x.get(), 2);
  BignumPtr bn(BN_new(), BN_free);
  ASN1_INTEGER* serial = X509_get_serialNumber(x.get());
  if (!bn || BN_rand(bn.get(), 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(bn.get(), serial))
    return Failure::error(openssl_error("serial"));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 2L * 24 * 3600);
  const X509NamePtr name = writer_name();
  X509_set_subject_name(x.get(), name.get());
  X509_set_issuer_name(x.get(), X509_get_subject_name(&ca_cert));
  X509_set_pubkey(x.get(), const_cast<EVP_PKEY*>(&key));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, const_cast<X509*>(&ca_cert), x.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                                   std::pair{NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                   std::pair{NID_ext_key_usage, "clientAuth"}}) {
    X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value), X509_EXTENSION_free);
    if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1)
      return Failure::error(openssl_error("extension " + std::string(value)));
  }
  if (X509_sign(x.get(), const_cast<EVP_PKEY*>(&ca_key), EVP_sha256()) <= 0)
    return Failure::error(openssl_error("cannot sign the writer's certificate"));
  return x;
}

Expected<X509ReqPtr> writer_csr(const EVP_PKEY& key) {
  X509ReqPtr req(X509_REQ_new(), X509_REQ_free);
  if (!req) return Failure::error(openssl_error("X509_REQ_new"));
  const X509NamePtr name = writer_name();
  X509_REQ_set_subject_name(req.get(), name.get());
  X509_REQ_set_pubkey(req.get(), const_cast<EVP_PKEY*>(&key));
  if (X509_REQ_sign(req.get(), const_cast<EVP_PKEY*>(&key), EVP_sha256()) <= 0)
    return Failure::error(openssl_error("cannot sign the writer's CSR"));
  return req;
}

std::string kv_digest(const std::vector<EtcdKv>& kvs) {
  Sha256 digest;
  for (const auto& kv : kvs) {
    digest.field(kv.key);
    digest.field(kv.value);
    digest.field(std::to_string(kv.create_revision) + "/" + std::to_string(kv.mod_revision) + "/" +
                 std::to_string(kv.version) + "/" + std::to_string(kv.lease));
  }
  return digest.hex_digest();
}

bool writer_needs_transport(const WriterSpec& spec) {
  return spec.op == WriterSpec::Op::Start &&
         (on_node(spec.ca) || on_node(spec.cert) || on_node(spec.key) ||
          (spec.cert.empty() && on_node(spec.sign_with)));
}

Writers::~Writers() {
  std::lock_guard lock(mu_);
  for (auto& [name, e] : writers_) e.writer->stop();
}

void Writers::add_for_test(const std::string& name, std::unique_ptr<Writer> writer,
                           std::shared_ptr<EtcdClient> client) {
  std::lock_guard lock(mu_);
  writers_[name] = Entry{std::move(writer), std::move(client), false};
}

Expected<CommandResult> Writers::start(const WriterSpec& spec, const TemplateValues& tv,
                                       LabState& state, Transport* transport,
                                       const fs::path& scenario_dir, Redactor& redactor,
                                       std::string* command) {
  // A file: local (relative to the scenario), on the step's node, or the lab PKI's.
  auto source = [&](const std::string& s) -> Expected<std::string> {
    if (on_node(s)) {
      if (!transport) return Failure::error("no session to read " + s);
      return transport->get(s.substr(5));
    }
    fs::path p = s;
    if (p.is_relative()) p = scenario_dir / p;
    return read_local(p);
  };
  const std::string user = expand_templates(spec.user, tv);
  const std::string password = expand_templates(spec.password, tv);
  redactor.add(password);
  const std::string ca = expand_templates(spec.ca, tv);
  const std::string sign_with = expand_templates(spec.sign_with, tv);
  std::string what = "writer " + spec.name + " starts:";

  TlsClientConfig tls;
  std::string ca_note;
  if (ca == "lab") {
    auto pem = read_local(PkiDir(lab_pki_dir(state)).ca_cert());
    if (!pem) return Failure::not_found("the lab has no CA yet (a pki_issue step makes it)");
    tls.ca_pem = *pem;
    ca_note = "CA the lab's";
  } else if (ca != "none") {
    auto pem = source(ca);
    if (!pem) return pem.error();
    tls.ca_pem = *pem;
    ca_note = "CA " + ca;
  } else {
    ca_note = "server not verified";
  }

  std::string cert_note;
  if (!spec.cert.empty()) {
    const std::string c = expand_templates(spec.cert, tv), k = expand_templates(spec.key, tv);
    auto cert = source(c);
    if (!cert) return cert.error();
    auto key = source(k);
    if (!key) return key.error();
    redactor.add(*key);
    tls.cert_pem = *cert;
    tls.key_pem = *key;
    cert_note = "client certificate " + c;
  } else if (sign_with != "none") {
    auto key = generate_key(KeySpec{KeySpec::Type::EcP256, 0});
    if (!key) return key.error();
    tls.key_pem = key_pem(**key);
    redactor.add(tls.key_pem);
    if (on_node(sign_with)) {
      // Signed on the node, by its CA, with the lab document's tool: the CA key stays there.
      if (!transport) return Failure::error("no session to sign with " + sign_with);
      const std::string key_path = sign_with.substr(5);
      const std::string ca_path =
          on_node(ca) ? ca.substr(5) : (fs::path(key_path).parent_path() / "ca.crt").string();
      auto csr = writer_csr(**key);
      if (!csr) return csr.error();
      const std::string tmp = "/tmp/dcslab-writer-" + spec.name + "-" + random_hex(4);
      FileAttributes attrs;
      attrs.mode = 0644;
      if (auto ok = transport->put(csr_pem(**csr), tmp + ".csr", attrs); !ok) return ok.error();
      if (auto ok = transport->put("basicConstraints = critical,CA:FALSE\n"
                                   "keyUsage = critical,digitalSignature,keyEncipherment\n"
                                   "extendedKeyUsage = clientAuth\n",
                                   tmp + ".ext", attrs);
          !ok)
        return ok.error();
      const std::string cmd = "sudo -n openssl x509 -req -in " + shell_quote(tmp + ".csr") +
                              " -CA " + shell_quote(ca_path) + " -CAkey " + shell_quote(key_path) +
                              " -set_serial 0x" + random_hex(8) + " -days 2 -extfile " +
                              shell_quote(tmp + ".ext") + " 2>&1; status=$?; rm -f " +
                              shell_quote(tmp + ".csr") + " " + shell_quote(tmp + ".ext") +
                              "; exit $status";
      ExecOptions opts;
      opts.timeout = std::chrono::seconds(60);
      auto r = transport->exec(cmd, opts);
      if (!r) return r.error();
      const auto begin = r->out.find("-----BEGIN CERTIFICATE-----");
      if (r->exit_status != 0 || begin == std::string::npos)
        return Failure::error("signing the writer's certificate on the node failed (exit " +
                              std::to_string(r->exit_status) + "): " + r->out.substr(0, 400));
      tls.cert_pem = r->out.substr(begin);
      cert_note = "client certificate O=dcslab-writer signed on " +
                  (tv.node ? tv.node->name : std::string("the node")) + " by " + key_path;
    } else {
      fs::path key_file, ca_file;
      if (sign_with == "lab") {
        key_file = PkiDir(lab_pki_dir(state)).ca_key();
        ca_file = PkiDir(lab_pki_dir(state)).ca_cert();
      } else {
        key_file = sign_with;
        if (key_file.is_relative()) key_file = scenario_dir / key_file;
        ca_file = (ca != "lab" && ca != "none" && !on_node(ca)) ? fs::path(ca) : key_file.parent_path() / "ca.crt";
        if (ca_file.is_relative()) ca_file = scenario_dir / ca_file;
      }
      auto ca_key = load_key(key_file);
      if (!ca_key) return ca_key.error();
      auto ca_cert = load_cert(ca_file);
      if (!ca_cert) return ca_cert.error();
      auto cert = sign_writer_cert(**ca_cert, **ca_key, **key);
      if (!cert) return cert.error();
      tls.cert_pem = cert_pem(**cert);
      cert_note = "client certificate O=dcslab-writer signed by " + key_file.string();
    }
  } else {
    cert_note = "no client certificate";
  }

  // Members by name; the address is the node's.
  std::vector<EtcdEndpoint> endpoints;
  std::string names;
  for (const auto& n : spec.endpoints) {
    const Node* node = tv.lab ? tv.lab->find_node(n) : nullptr;
    if (!node) return Failure::not_found("no node " + n);
    endpoints.push_back({n, node->ip.str(), spec.port});
    names += (names.empty() ? "" : ", ") + n;
  }
  WriterOptions o;
  o.name = spec.name;
  o.prefix = expand_templates(spec.prefix, tv);
  o.endpoints = spec.endpoints;
  o.interval = spec.interval;
  o.keys = spec.keys;
  o.reads = spec.reads;
  o.timeout = spec.request_timeout;
  auto client = std::make_shared<EtcdClient>(endpoints, tls, user, password);
  auto writer = std::make_unique<Writer>(o, client, RealClock::instance());
  what += " every " + format_duration(spec.interval) + " through " + names + " (port " +
          std::to_string(spec.port) + "; " + ca_note + "; " + cert_note +
          (user.empty() ? "; no authentication" : "; as " + user) + ")";
  *command = what;

  // One put before the thread: a writer that cannot write at all fails here, not at the
  // check. It is the history's first operation.
  writer->step();
  const History first = writer->history();
  const Op* ok = nullptr;
  std::string errors;
  for (const auto& op : first.ops) {
    if (op.kind == OpKind::Put && op.status == OpStatus::Ok) ok = &op;
    if (!op.error.empty()) errors += op.error + "\n";
  }
  if (!ok) return CommandResult{1, "", "the first put failed through every member:\n" + errors};
  const std::string out = "first put " + ok->key + " = " + ok->value + " at revision " +
                          std::to_string(ok->revision) + " via " + ok->endpoint + "\nkeys: " +
                          first.prefix + "key-0 .. key-" + std::to_string(spec.keys - 1) + "\n";
  writer->start();
  std::lock_guard lock(mu_);
  writers_[spec.name] = Entry{std::move(writer), client, false};
  return CommandResult{0, out, ""};
}

Expected<CommandResult> Writers::stop(const WriterSpec& spec, std::string* command) {
  std::lock_guard lock(mu_);
  *command = "writer " + spec.name + " stops";
  auto it = writers_.find(spec.name);
  if (it == writers_.end()) return Failure::not_found("no writer " + spec.name + " is running");
  it->second.writer->stop();
  const History h = it->second.writer->history();
  int puts = 0;
  for (const auto& op : h.ops) puts += op.kind == OpKind::Put;
  char rate[64];
  const double secs = it->second.writer->seconds_running();
  std::snprintf(rate, sizeof rate, "%.1f", secs > 0 ? puts / secs : 0.0);
  return CommandResult{0,
                       std::to_string(puts) + " puts in " + std::to_string(static_cast<int>(secs)) +
                           " s (" + rate + "/s)\n",
                       ""};
}

fs::path Writers::history_file(const fs::path& artifacts_dir, const std::string& scenario,
                               const std::string& name) {
  return artifacts_dir / ("writes-" + scenario + "-" + name + ".json");
}

Expected<CommandResult> Writers::check(const WriterSpec& spec, const std::string& scenario,
                                       const fs::path& artifacts_dir,
                                       const Redactor& redactor, std::string* command,
                                       std::vector<std::string>* failures) {
  std::unique_lock lock(mu_);
  *command = "check_writes " + spec.name;
  auto it = writers_.find(spec.name);
  if (it == writers_.end()) return Failure::not_found("no writer " + spec.name + " was started");
  Entry& e = it->second;
  lock.unlock();
  const auto t0 = std::chrono::steady_clock::now();
  e.writer->stop();
  EtcdClient& client = *e.client;
  const auto deadline = t0 + spec.check_timeout;
  const auto timeout = e.writer->options().timeout;
  auto before_deadline = [&] { return std::chrono::steady_clock::now() < deadline; };
  auto pause = [] { std::this_thread::sleep_for(std::chrono::milliseconds(500)); };

  History h = e.writer->history();
  std::vector<std::string> keys;
  {
    std::set<std::string> seen;
    for (const auto& op : h.ops)
      if (op.kind == OpKind::Put && seen.insert(op.key).second) keys.push_back(op.key);
  }

  // 1. Every key through every member, linearizable; a member restarting gets time.
  for (const auto& ep : h.endpoints) {
    for (const auto& key : keys) {
      for (;;) {
        Op op;
        op.kind = OpKind::Get;
        op.final = true;
        op.key = key;
        op.endpoint = ep;
        op.start_ms = e.writer->now_ms();
        auto r = client.get(ep, key, false, timeout);
        op.end_ms = e.writer->now_ms();
        if (r) {
          op.status = OpStatus::Ok;
          if (!r->kvs.empty()) {
            op.found = true;
            op.value = r->kvs.front().value;
            op.revision = r->kvs.front().mod_revision;
          }
        } else {
          op.status = r.error().kind == EtcdError::Kind::Unknown ? OpStatus::Indeterminate : OpStatus::Failed;
          op.error = r.error().message;
        }
        if (op.status == OpStatus::Ok || !before_deadline()) {
          e.writer->append(op);
          break;
        }
        pause();
      }
    }
  }

  // 2. One revision every member has reached (nothing writes now but the scenario).
  std::int64_t revision = 0;
  std::map<std::string, std::string> status_error;
  for (;;) {
    std::set<std::int64_t> revs;
    status_error.clear();
    for (const auto& ep : h.endpoints) {
      auto s = client.status(ep, timeout);
      if (s) revs.insert(s->revision);
      else status_error[ep] = s.error().message;
    }
    if (!revs.empty()) revision = *revs.begin();
    if ((status_error.empty() && revs.size() == 1) || !before_deadline()) break;
    pause();
  }
  // 3. Each member's hash at that revision: HashKV, or a digest of its own copy.
  std::vector<MemberHash> hashes;
  for (const auto& ep : h.endpoints) {
    MemberHash m;
    m.endpoint = ep;
    m.revision = revision;
    for (;;) {
      m.error.clear();
      if (auto se = status_error.find(ep); se != status_error.end() && revision == 0) {
        m.error = se->second;
        break;
      }
      auto hk = client.hashkv(ep, revision, timeout);
      if (hk) {
        m.method = "hashkv";
        m.hash = std::to_string(hk->hash);
        m.compact_revision = hk->compact_revision;
        break;
      }
      if (hk.error().http_status == 404) {
        // etcd 3.4: the gateway has no HashKV.
        auto all = client.range(ep, std::string(1, '\0'), std::string(1, '\0'), revision, true,
                                std::max(timeout, std::chrono::milliseconds(10000)));
        if (all) {
          m.method = "range-sha256";
          m.hash = kv_digest(all->kvs);
          break;
        }
        m.error = all.error().message;
      } else {
        m.error = hk.error().message;
      }
      if (!before_deadline()) break;
      pause();
    }
    hashes.push_back(m);
  }
  e.writer->set_hashes(hashes);
  h = e.writer->history();
  const CheckResult res = check_history(h);
  const double check_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  e.checked = true;

  // The evidence, whatever the verdict.
  std::string saved;
  if (!artifacts_dir.empty()) {
    const fs::path file = history_file(artifacts_dir, scenario, spec.name);
    std::error_code ec;
    fs::create_directories(artifacts_dir, ec);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << redactor(history_json(h, &res));
    if (out) saved = file.string();
  }

  int puts = 0;
  for (const auto& op : h.ops) puts += op.kind == OpKind::Put;
  const double secs = e.writer->seconds_running();
  char line[256];
  std::snprintf(line, sizeof line, "writer %s: %d puts in %.1f s (%.1f/s) through %zu members\n",
                spec.name.c_str(), puts, secs, secs > 0 ? puts / secs : 0.0, h.endpoints.size());
  std::string out = line;
  out += res.summary() + "\n";
  out += "keys " + std::to_string(res.keys) + " under " + h.prefix + "\n";
  std::string hl;
  for (const auto& m : hashes)
    hl += "  " + m.endpoint + " " + (m.error.empty() ? m.method + " " + m.hash : "error: " + m.error) + "\n";
  out += "hashes at revision " + std::to_string(revision) + ":\n" + hl;
  std::snprintf(line, sizeof line, "check took %.1f s\n", check_s);
  out += line;
  if (!saved.empty()) out += "history: " + saved + "\n";
  int shown = 0;
  for (const auto& f : res.findings) {
    if (shown++ == 20) {
      out += "... " + std::to_string(res.findings.size() - 20) + " more in the history\n";
      break;
    }
    out += f.kind + ": " + f.message + "\n";
  }
  if (!res.passed()) {
    auto count = [&](const char* what, int n) {
      if (n) failures->push_back(std::string("check_writes: ") + what + " " + std::to_string(n));
    };
    count("lost keys", res.lost);
    count("stale reads", res.stale);
    count("unexplained reads", res.unexplained);
    count("diverged members", res.diverged);
    count("unverified (no answer)", res.unverified);
    for (const auto& f : res.findings)
      if (failures->size() < 12) failures->push_back(f.kind + ": " + f.message);
  }
  return CommandResult{res.passed() ? 0 : 1, out, ""};
}

void Writers::stop_all(const std::string& scenario, const fs::path& artifacts_dir,
                       const Redactor& redactor) {
  std::lock_guard lock(mu_);
  for (auto& [name, e] : writers_) {
    e.writer->stop();
    if (e.checked || artifacts_dir.empty()) continue;
    std::error_code ec;
    fs::create_directories(artifacts_dir, ec);
    std::ofstream out(history_file(artifacts_dir, scenario, name), std::ios::binary | std::ios::trunc);
    out << redactor(history_json(e.writer->history()));
  }
  writers_.clear();
}

}  // namespace dcslab
