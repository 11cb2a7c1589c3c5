#include "run/writer_steps.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "base/digest.h"
#include "base/process.h"  // shell_quote
#include "base/text.h"
#include "run/tls_material.h"

namespace fs = std::filesystem;

namespace dcslab {

namespace {

// A positive number (a serial, a unique name part): random bytes, top bit cleared.
std::string random_hex(int bytes) {
  std::string b = random_bytes(static_cast<std::size_t>(bytes));
  b[0] = static_cast<char>(b[0] & 0x7f);
  return hex(b);
}

// Signed on the node by its CA with the lab document's tool, so the CA key never leaves
// the node. The certificate's PEM.
Expected<std::string> sign_on_node(const std::string& writer, const PKey& key,
                                   const std::string& ca_path, const std::string& key_path,
                                   Transport& transport) {
  const ClientCertOptions options = writer_cert_options();
  DCSLAB_TRY_ASSIGN(const X509ReqPtr csr, client_csr(*key, options));
  const std::string tmp = "/tmp/dcslab-writer-" + writer + "-" + random_hex(4);
  FileAttributes attrs;
  attrs.mode = 0644;
  DCSLAB_TRY(transport.put(csr_pem(*csr), tmp + ".csr", attrs));
  DCSLAB_TRY(transport.put(client_cert_ext_text(), tmp + ".ext", attrs));
  const std::string cmd = "sudo -n openssl x509 -req -in " + shell_quote(tmp + ".csr") + " -CA " +
                          shell_quote(ca_path) + " -CAkey " + shell_quote(key_path) +
                          " -set_serial 0x" + random_hex(8) + " -days " +
                          std::to_string(options.days) + " -extfile " + shell_quote(tmp + ".ext") +
                          " 2>&1; status=$?; rm -f " + shell_quote(tmp + ".csr") + " " +
                          shell_quote(tmp + ".ext") + "; exit $status";
  ExecOptions opts;
  opts.timeout = std::chrono::seconds(60);
  DCSLAB_TRY_ASSIGN(const CommandResult r, transport.exec(cmd, opts));
  const auto begin = r.out.find("-----BEGIN CERTIFICATE-----");
  if (r.exit_status != 0 || begin == std::string::npos)
    return Failure::error("signing the writer's certificate on the node failed (exit " +
                          std::to_string(r.exit_status) + "): " + r.out.substr(0, 400));
  return r.out.substr(begin);
}

// dcslab's own key and a certificate without a Common Name, signed by the CA key named
// by sign_with (lab | node:/path | a file), with the CA certificate named by `ca` or the
// one beside the key. Into *tls; what a report says of it.
Expected<std::string> make_writer_cert(const std::string& writer, const std::string& ca,
                                       const std::string& sign_with, const std::string& node,
                                       const TlsFiles& files, Redactor& redactor,
                                       TlsClientConfig* tls) {
  DCSLAB_TRY_ASSIGN(const PKey key, generate_key(KeySpec{KeySpec::Type::EcP256, 0}));
  tls->key_pem = key_pem(*key);
  redactor.add(tls->key_pem);
  if (on_node(sign_with)) {
    if (!files.transport) return Failure::error("no session to sign with " + sign_with);
    const std::string key_path = sign_with.substr(5);
    const std::string ca_path =
        on_node(ca) ? ca.substr(5) : (fs::path(key_path).parent_path() / "ca.crt").string();
    DCSLAB_TRY_ASSIGN(tls->cert_pem, sign_on_node(writer, key, ca_path, key_path, *files.transport));
    return "client certificate O=dcslab-writer signed on " + node + " by " + key_path;
  }
  const PkiDir lab(lab_pki_dir(files.state));
  const fs::path key_file = sign_with == "lab" ? lab.ca_key() : files.local(sign_with);
  const fs::path ca_file = sign_with == "lab" ? lab.ca_cert()
                           : (ca != "lab" && ca != "none" && !on_node(ca))
                               ? files.local(ca)
                               : key_file.parent_path() / "ca.crt";
  Ca signer;
  DCSLAB_TRY_ASSIGN(signer.key, load_key(key_file));
  DCSLAB_TRY_ASSIGN(signer.cert, load_cert(ca_file));
  DCSLAB_TRY_ASSIGN(const X509Ptr cert, issue_client_cert(signer, *key, writer_cert_options()));
  tls->cert_pem = cert_pem(*cert);
  return "client certificate O=dcslab-writer signed by " + key_file.string();
}

// The first put, made before the thread starts, as the step's result: a writer that
// cannot write at all fails here, not at the check.
CommandResult first_put(const History& h, int keys) {
  const Op* ok = nullptr;
  std::string errors;
  for (const auto& op : h.ops) {
    if (op.kind != OpKind::Get && op.status == OpStatus::Ok && (op.kind == OpKind::Put || op.swapped)) ok = &op;
    if (!op.error.empty()) errors += op.error + "\n";
  }
  if (!ok) return CommandResult{1, "", "the first write failed through every member:\n" + errors};
  return CommandResult{0,
                       std::string("first ") + op_kind_name(ok->kind) + " " + ok->key + " = " + ok->value + " at revision " +
                           std::to_string(ok->revision) + " via " + ok->endpoint + "\nkeys: " +
                           h.prefix + "key-0 .. key-" + std::to_string(keys - 1) + "\n",
                       ""};
}

}  // namespace

ClientCertOptions writer_cert_options() {
  ClientCertOptions o;
  o.organization = "dcslab-writer";
  return o;
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

ModelCheck check_model(const KvHistory& h, std::chrono::milliseconds budget, Clock* clock) {
  ModelCheck m;
  CheckBudget b;
  b.time = budget;
  b.clock = clock;
  m.result = check_linearizable(h, b);
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2f", m.result.seconds);
  m.report = "linearizability (budget " + format_duration(budget) + ", took " + secs + " s): " +
             m.result.report();
  if (!m.report.empty() && m.report.back() != '\n') m.report += "\n";
  switch (m.result.verdict) {
    case Verdict::Linearizable: break;
    case Verdict::NotLinearizable:
      m.failures.push_back("check_writes: not linearizable: " + m.result.summary());
      for (const auto& v : m.result.violations)
        if (m.failures.size() < 6) m.failures.push_back(v.explanation);
      break;
    case Verdict::Undecided:
      m.failures.push_back("check_writes: undecided: the linearizability checker's budget (" +
                           format_duration(budget) + ") ran out before a verdict: " +
                           m.result.summary());
      break;
  }
  return m;
}

bool writer_needs_transport(const WriterSpec& spec) {
  return spec.op == WriterSpec::Op::Start &&
         (on_node(spec.ca) || on_node(spec.cert) || on_node(spec.key) ||
          (spec.cert.empty() && on_node(spec.sign_with)));
}

Writers::~Writers() {
  std::lock_guard lock(mu_);
  for (auto& [name, w] : watchers_) w.watcher->stop();
  for (auto& [name, e] : writers_) e.writer->stop();
}

void Writers::add_for_test(const std::string& name, std::unique_ptr<Writer> writer,
                           std::shared_ptr<EtcdClient> client, Watcher::MakeClient make_client) {
  std::lock_guard lock(mu_);
  writers_[name] = Entry{std::move(writer), std::move(client), false, {}, std::move(make_client)};
}

Expected<CommandResult> Writers::start(const WriterSpec& spec, const TemplateValues& tv,
                                       LabState& state, Transport* transport,
                                       const fs::path& scenario_dir, Redactor& redactor,
                                       std::string* command) {
  const std::string user = expand_templates(spec.user, tv);
  const std::string password = expand_templates(spec.password, tv);
  redactor.add(password);
  const std::string ca = expand_templates(spec.ca, tv);
  const bool files_given = !spec.cert.empty();
  const std::string cert = files_given ? expand_templates(spec.cert, tv) : "";
  const std::string key = files_given ? expand_templates(spec.key, tv) : "";
  const std::string sign_with = expand_templates(spec.sign_with, tv);
  const TlsFiles files{state, transport, scenario_dir};
  DCSLAB_TRY_ASSIGN(TlsClientConfig tls, read_tls_material(ca, cert, key, files, redactor));
  std::string cert_note = files_given ? "client certificate " + cert : "no client certificate";
  if (!files_given && sign_with != "none") {
    DCSLAB_TRY_ASSIGN(cert_note, make_writer_cert(spec.name, ca, sign_with,
                                                  tv.node ? tv.node->name : "the node", files,
                                                  redactor, &tls));
  }

  // Members by name; the address is the node's.
  std::vector<EtcdEndpoint> endpoints;
  for (const auto& n : spec.endpoints) {
    const Node* node = tv.lab ? tv.lab->find_node(n) : nullptr;
    if (!node) return Failure::not_found("no node " + n);
    endpoints.push_back({n, node->ip.str(), spec.port});
  }
  WriterOptions o;
  o.name = spec.name;
  o.prefix = expand_templates(spec.prefix, tv);
  o.endpoints = spec.endpoints;
  o.interval = spec.interval;
  o.keys = spec.keys;
  o.reads = spec.reads;
  o.cas = spec.cas;
  o.timeout = spec.request_timeout;
  auto client = std::make_shared<EtcdClient>(endpoints, tls, user, password);
  Watcher::MakeClient make_client = [endpoints, tls, user, password] {
    return std::make_unique<EtcdClient>(endpoints, tls, user, password);
  };
  auto writer = std::make_unique<Writer>(o, client, RealClock::instance());
  const std::string ca_note = ca == "lab" ? "CA the lab's" : ca == "none" ? "server not verified" : "CA " + ca;
  char cas_share[48] = "";
  if (spec.cas > 0) std::snprintf(cas_share, sizeof cas_share, " (%.0f%% compare-and-set)", spec.cas * 100);
  *command = "writer " + spec.name + " starts: every " + format_duration(spec.interval) + cas_share +
             " through " + join(spec.endpoints, ", ") + " (port " + std::to_string(spec.port) +
             "; " + ca_note + "; " + cert_note +
             (user.empty() ? "; no authentication" : "; as " + user) + ")";

  writer->step();  // the history's first operation
  CommandResult first = first_put(writer->history(), spec.keys);
  if (first.exit_status != 0) return first;
  writer->start();
  std::lock_guard lock(mu_);
  writers_[spec.name] = Entry{std::move(writer), client, false, {}, std::move(make_client)};
  return first;
}

Expected<CommandResult> Writers::stop(const WriterSpec& spec, std::string* command) {
  std::lock_guard lock(mu_);
  *command = "writer " + spec.name + " stops";
  auto it = writers_.find(spec.name);
  if (it == writers_.end()) return Failure::not_found("no writer " + spec.name + " is running");
  it->second.writer->stop();
  const History h = it->second.writer->history();
  int puts = 0, cas = 0;
  for (const auto& op : h.ops) (op.kind == OpKind::Put ? puts : cas) += op.kind != OpKind::Get;
  char rate[64];
  const double secs = it->second.writer->seconds_running();
  std::snprintf(rate, sizeof rate, "%.1f", secs > 0 ? (puts + cas) / secs : 0.0);
  return CommandResult{0,
                       std::to_string(puts) + " puts" + (cas ? " and " + std::to_string(cas) + " cas" : "") +
                           " in " + std::to_string(static_cast<int>(secs)) +
                           " s (" + rate + "/s)\n",
                       ""};
}

Expected<CommandResult> Writers::start_watcher(const WatcherSpec& spec, std::string* command) {
  std::unique_lock lock(mu_);
  *command = "watcher " + spec.name + " starts on writer " + spec.writer + "'s keys";
  auto it = writers_.find(spec.writer);
  if (it == writers_.end()) return Failure::not_found("no writer " + spec.writer + " is running");
  if (!it->second.make_client) return Failure::error("writer " + spec.writer + " cannot be watched");
  Writer* writer = it->second.writer.get();
  WatcherOptions o;
  o.name = spec.name;
  o.writer = spec.writer;
  o.prefix = writer->history().prefix;
  o.endpoints = spec.endpoints;
  o.idle = spec.idle;
  o.timeout = spec.request_timeout;
  auto watcher = std::make_unique<Watcher>(o, it->second.make_client, [writer] { return writer->now_ms(); },
                                           RealClock::instance());
  lock.unlock();
  DCSLAB_TRY_ASSIGN(const std::int64_t from, watcher->start());
  *command = "watcher " + spec.name + " starts: " + std::to_string(spec.endpoints.size()) +
             " watches of " + o.prefix + " (writer " + spec.writer + ") through " +
             join(spec.endpoints, ", ") + "; a stream silent for " + format_duration(spec.idle) +
             " is watched again";
  lock.lock();
  watchers_[spec.name] = WatcherEntry{spec.writer, std::move(watcher), false};
  return CommandResult{0, "watching " + o.prefix + " from revision " + std::to_string(from) + "\n", ""};
}

Expected<CommandResult> Writers::stop_watcher(const WatcherSpec& spec, std::string* command) {
  std::lock_guard lock(mu_);
  *command = "watcher " + spec.name + " stops";
  auto it = watchers_.find(spec.name);
  if (it == watchers_.end()) return Failure::not_found("no watcher " + spec.name + " is running");
  it->second.watcher->stop();
  const WatchHistory w = it->second.watcher->history();
  std::string out;
  for (const auto& watch : w.watches)
    out += watch.id + ": " + std::to_string(watch.events.size()) + " events in " +
           std::to_string(watch.sessions.size()) + " sessions\n";
  return CommandResult{0, out, ""};
}

fs::path Writers::watch_file(const fs::path& artifacts_dir, const std::string& scenario,
                             const std::string& name) {
  return artifacts_dir / ("watches-" + scenario + "-" + name + ".json");
}

fs::path Writers::history_file(const fs::path& artifacts_dir, const std::string& scenario,
                               const std::string& name) {
  return artifacts_dir / ("writes-" + scenario + "-" + name + ".json");
}

namespace {

// What the phases of check_writes share: a member that does not answer is asked again,
// half a second apart, until the check's deadline (a member restarting gets time).
struct FinalCheck {
  Writer& writer;
  EtcdClient& client;
  Clock::time_point deadline;          // of the whole check
  std::chrono::milliseconds timeout;   // of one request

  // Calls `attempt` until it returns true or the deadline has passed.
  template <typename Attempt>
  void retry(Attempt attempt) const {
    Clock& clock = RealClock::instance();
    (void)poll_until<bool>(clock, deadline - clock.now(), std::chrono::milliseconds(500), "",
                           [&](std::string*) -> std::optional<bool> {
                             if (attempt()) return true;
                             return std::nullopt;
                           });
  }
};

Op final_read(const FinalCheck& c, const std::string& endpoint, const std::string& key) {
  Op op;
  op.kind = OpKind::Get;
  op.final = true;
  op.key = key;
  op.endpoint = endpoint;
  op.start_ms = c.writer.now_ms();
  auto r = c.client.get(endpoint, key, false, c.timeout);
  op.end_ms = c.writer.now_ms();
  if (!r) {
    op.status = r.error().kind == EtcdError::Kind::Unknown ? OpStatus::Indeterminate : OpStatus::Failed;
    op.error = r.error().message;
  } else {
    op.status = OpStatus::Ok;
    if (!r->kvs.empty()) {
      op.found = true;
      op.value = r->kvs.front().value;
      op.revision = r->kvs.front().mod_revision;
    }
  }
  return op;
}

// 1. Every key the writer put or compare-and-set, read back through every member, linearizable.
void read_back(const FinalCheck& c, const History& h) {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const auto& op : h.ops)
    if (op.kind != OpKind::Get && seen.insert(op.key).second) keys.push_back(op.key);
  for (const auto& ep : h.endpoints)
    for (const auto& key : keys) {
      Op op;
      c.retry([&] {
        op = final_read(c, ep, key);
        return op.status == OpStatus::Ok;
      });
      c.writer.append(op);
    }
}

// 2. One revision every member has reached (nothing writes now but the scenario): the
// lowest one seen. *status_error: the members that did not answer the last time.
std::int64_t common_revision(const FinalCheck& c, const std::vector<std::string>& endpoints,
                             std::map<std::string, std::string>* status_error) {
  std::int64_t revision = 0;
  c.retry([&] {
    std::set<std::int64_t> revs;
    status_error->clear();
    for (const auto& ep : endpoints) {
      auto s = c.client.status(ep, c.timeout);
      if (s) revs.insert(s->revision);
      else (*status_error)[ep] = s.error().message;
    }
    if (!revs.empty()) revision = *revs.begin();
    return status_error->empty() && revs.size() == 1;
  });
  return revision;
}

// 3. A member's hash of the key space at `revision`: HashKV, or (etcd 3.4's gateway has
// no HashKV) a digest of its own copy.
MemberHash member_hash(const FinalCheck& c, const std::string& ep, std::int64_t revision) {
  MemberHash m;
  m.endpoint = ep;
  m.revision = revision;
  auto hk = c.client.hashkv(ep, revision, c.timeout);
  if (hk) {
    m.method = "hashkv";
    m.hash = std::to_string(hk->hash);
    m.compact_revision = hk->compact_revision;
  } else if (hk.error().http_status != 404) {
    m.error = hk.error().message;
  } else if (auto all = c.client.range(ep, std::string(1, '\0'), std::string(1, '\0'), revision, true,
                                       std::max(c.timeout, std::chrono::milliseconds(10000)))) {
    m.method = "range-sha256";
    m.hash = kv_digest(all->kvs);
  } else {
    m.error = all.error().message;
  }
  return m;
}

std::vector<MemberHash> member_hashes(const FinalCheck& c, const std::vector<std::string>& endpoints,
                                      std::int64_t revision,
                                      const std::map<std::string, std::string>& status_error) {
  std::vector<MemberHash> hashes;
  for (const auto& ep : endpoints) {
    MemberHash m{ep, revision, "", "", 0, ""};
    if (auto se = status_error.find(ep); se != status_error.end() && revision == 0) {
      m.error = se->second;  // no revision to ask about
    } else {
      c.retry([&] {
        m = member_hash(c, ep, revision);
        return m.error.empty();
      });
    }
    hashes.push_back(m);
  }
  return hashes;
}

// The evidence, whatever the verdict: <artifacts_dir>/writes-<scenario>-<name>.json. The
// file's name, or "" when it could not be written.
std::string save_history(const fs::path& file, const std::string& text) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  return out ? file.string() : "";
}

// What check_writes prints: counts, verdict, hashes, where the history is, findings.
std::string check_report(const std::string& name, const Writer& w, const History& h,
                         const CheckResult& res, std::int64_t revision,
                         const std::vector<MemberHash>& hashes, double check_s,
                         const std::string& saved) {
  int puts = 0, cas = 0;
  for (const auto& op : h.ops) (op.kind == OpKind::Put ? puts : cas) += op.kind != OpKind::Get;
  const double secs = w.seconds_running();
  char line[256];
  const std::string and_cas = cas ? " and " + std::to_string(cas) + " cas" : "";
  std::snprintf(line, sizeof line, "writer %s: %d puts%s in %.1f s (%.1f/s) through %zu members\n",
                name.c_str(), puts, and_cas.c_str(), secs, secs > 0 ? (puts + cas) / secs : 0.0,
                h.endpoints.size());
  std::string out = line;
  out += res.summary() + "\n";
  out += "keys " + std::to_string(res.keys) + " under " + h.prefix + "\n";
  out += "hashes at revision " + std::to_string(revision) + ":\n";
  for (const auto& m : hashes)
    out += "  " + m.endpoint + " " + (m.error.empty() ? m.method + " " + m.hash : "error: " + m.error) + "\n";
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
  return out;
}

// What did not hold: the counts, then the first findings.
void add_failures(const CheckResult& res, std::vector<std::string>* failures) {
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

// The picture of a checked history: the checker's findings pointing at their reads,
// the model's verdict and failing prefix, the faults as bands.
std::string writes_timeline(const History& h, const KvHistory& kv, const CheckResult& res,
                            const LinearizabilityResult* model, const std::vector<FaultMark>& marks,
                            const std::string& title) {
  std::map<std::string, std::size_t> by_name;  // "#<id>" -> index in kv.ops
  double end = 0;
  for (std::size_t i = 0; i < kv.ops.size(); ++i) {
    by_name.emplace(kv.ops[i].name, i);
    end = std::max({end, kv.ops[i].call, kv.ops[i].ret});
  }
  TimelineInput in;
  in.title = title + " (" + h.prefix + ")";
  in.model = model;
  in.faults = fault_bands(marks, end);
  for (const auto& f : res.findings) {
    TimelineFinding tf{f.kind, f.message, {}};
    if (auto it = by_name.find("#" + std::to_string(f.op)); f.op && it != by_name.end())
      tf.ops.push_back(it->second);
    in.findings.push_back(std::move(tf));
  }
  return timeline_html(kv, in);
}

}  // namespace

std::vector<TimelineBand> fault_bands(const std::vector<FaultMark>& marks, double end) {
  std::vector<TimelineBand> bands;
  std::map<std::pair<std::string, FaultKind>, std::size_t> open;  // (node, what undoes it) -> band
  auto undo = [](FaultKind k) -> std::optional<FaultKind> {
    switch (k) {
      case FaultKind::Crash: return FaultKind::Start;
      case FaultKind::Pause: return FaultKind::Resume;
      case FaultKind::Partition: return FaultKind::Heal;
      default: return std::nullopt;
    }
  };
  auto state = [](FaultKind k) -> std::string {
    switch (k) {
      case FaultKind::Crash: return "crashed";
      case FaultKind::Pause: return "paused";
      default: return "partitioned";
    }
  };
  for (const auto& m : marks) {
    if (auto u = undo(m.kind)) {
      if (open.count({m.node, *u})) continue;  // already down: the first one counts
      open[{m.node, *u}] = bands.size();
      bands.push_back({m.node + " " + state(m.kind), m.from, std::max(end, m.to)});
    } else if (auto it = open.find({m.node, m.kind}); it != open.end()) {
      bands[it->second].to = m.to;  // back once its step is done
      open.erase(it);
    } else if (m.kind == FaultKind::Kill) {
      bands.push_back({"kill on " + m.node, m.from, m.to});
    }
  }
  return bands;
}

fs::path Writers::timeline_file(const fs::path& artifacts_dir, const std::string& scenario,
                                const std::string& name) {
  return artifacts_dir / ("writes-" + scenario + "-" + name + ".html");
}

std::map<std::string, double> Writers::now_all() {
  std::lock_guard lock(mu_);
  std::map<std::string, double> now;
  for (auto& [name, e] : writers_)
    if (!e.checked) now[name] = e.writer->now_ms();
  return now;
}

void Writers::mark_faults(FaultKind kind, const std::string& node,
                          const std::map<std::string, double>& started) {
  std::lock_guard lock(mu_);
  for (const auto& [name, from] : started)
    if (auto it = writers_.find(name); it != writers_.end())
      it->second.faults.push_back({kind, node, from, it->second.writer->now_ms()});
}

Expected<CommandResult> Writers::check(const CheckWritesSpec& spec, const std::string& scenario,
                                       const fs::path& artifacts_dir,
                                       const Redactor& redactor, std::string* command,
                                       std::vector<std::string>* failures) {
  std::unique_lock lock(mu_);
  *command = "check_writes " + spec.name;
  auto it = writers_.find(spec.name);
  if (it == writers_.end()) return Failure::not_found("no writer " + spec.name + " was started");
  Entry& e = it->second;
  lock.unlock();
  const auto t0 = RealClock::instance().now();
  e.writer->stop();
  const FinalCheck c{*e.writer, *e.client, t0 + spec.timeout, e.writer->options().timeout};
  const History written = e.writer->history();
  read_back(c, written);
  std::map<std::string, std::string> status_error;
  const std::int64_t revision = common_revision(c, written.endpoints, &status_error);
  const std::vector<MemberHash> hashes = member_hashes(c, written.endpoints, revision, status_error);
  e.writer->set_hashes(hashes);
  const History h = e.writer->history();
  const CheckResult res = check_history(h);
  const KvHistory kv = kv_history(h);
  std::optional<ModelCheck> model;
  if (spec.model == CheckWritesSpec::Model::Linearizable)
    model = check_model(kv, spec.budget, model_clock_);
  const double check_s = std::chrono::duration<double>(RealClock::instance().now() - t0).count();
  e.checked = true;
  const std::string saved =
      artifacts_dir.empty()
          ? ""
          : save_history(history_file(artifacts_dir, scenario, spec.name),
                         redactor(history_json(h, &res, model ? &model->result : nullptr)));
  std::string drawn;
  if (!artifacts_dir.empty()) {
    lock.lock();
    const std::vector<FaultMark> marks = e.faults;
    lock.unlock();
    drawn = save_history(timeline_file(artifacts_dir, scenario, spec.name),
                         redactor(writes_timeline(h, kv, res, model ? &model->result : nullptr, marks,
                                                  "writes-" + scenario + "-" + spec.name)));
  }
  if (!res.passed()) add_failures(res, failures);
  const bool passed = res.passed() && (!model || model->passed());
  std::string out = check_report(spec.name, *e.writer, h, res, revision, hashes, check_s, saved);
  if (!drawn.empty()) out += "timeline: " + drawn + "\n";
  if (model) {
    out += model->report;
    for (auto& f : model->failures) failures->push_back(redactor(f));
  }
  bool watches_passed = true;
  out += check_watchers(spec.name, h, scenario, artifacts_dir, redactor, t0 + spec.timeout, failures,
                        &watches_passed);
  return CommandResult{passed && watches_passed ? 0 : 1, redactor(out), ""};
}

std::string Writers::check_watchers(const std::string& writer, const History& h,
                                    const std::string& scenario, const fs::path& artifacts_dir,
                                    const Redactor& redactor, Clock::time_point deadline,
                                    std::vector<std::string>* failures, bool* passed) {
  std::vector<std::pair<std::string, WatcherEntry*>> mine;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, w] : watchers_)
      if (w.writer == writer) mine.emplace_back(name, &w);
  }
  if (mine.empty()) return "";
  // The writer's last acknowledged revision: what every watch should reach before it stops
  // (a watch behind it is not wrong, only less tested; the wait is bounded).
  std::int64_t last = 0;
  for (const auto& op : h.ops)
    if (op.kind != OpKind::Get && op.status == OpStatus::Ok && (op.kind == OpKind::Put || op.swapped))
      last = std::max(last, op.revision);
  const KvHistory writes = kv_history(h);
  std::string out;
  for (auto& [name, w] : mine) {
    Clock& clock = RealClock::instance();
    const auto limit = std::min<Clock::duration>(std::chrono::seconds(10), std::max<Clock::duration>(
                                                                              deadline - clock.now(), {}));
    const bool caught_up = static_cast<bool>(poll_until<bool>(
        clock, limit, std::chrono::milliseconds(100), "",
        [&](std::string*) -> std::optional<bool> {
          if (w->watcher->reached() >= last) return true;
          return std::nullopt;
        }));
    w->watcher->stop();
    w->checked = true;
    const WatchHistory wh = w->watcher->history();
    const WatchCheckResult res = check_watches(wh, writes);
    const std::string saved =
        artifacts_dir.empty()
            ? ""
            : save_history(watch_file(artifacts_dir, scenario, name), redactor(watch_history_json(wh, &res)));
    out += "watcher " + name + ": " + res.summary() + "\n";
    out += "watcher " + name + (caught_up ? " caught up with revision " : " did not reach revision ") +
           std::to_string(last) + " (reached " + std::to_string(w->watcher->reached()) + ")\n";
    for (const auto& watch : wh.watches) {
      std::set<std::string> members;
      for (const auto& s : watch.sessions) members.insert(s.endpoint);
      out += "  " + watch.id + ": " + std::to_string(watch.events.size()) + " events, " +
             std::to_string(watch.sessions.size()) + " sessions through " +
             join(std::vector<std::string>(members.begin(), members.end()), ", ") + "\n";
    }
    if (!saved.empty()) out += "watches: " + saved + "\n";
    int shown = 0;
    for (const auto& f : res.findings)
      if (shown++ < 20) out += f.kind + ": " + f.message + "\n";
    if (!res.passed()) {
      *passed = false;
      failures->push_back(redactor("check_writes: watcher " + name + ": " + res.summary()));
      for (const auto& f : res.findings)
        if (failures->size() < 16) failures->push_back(redactor(f.kind + ": " + f.message));
    }
  }
  return out;
}

void Writers::stop_all(const std::string& scenario, const fs::path& artifacts_dir,
                       const Redactor& redactor) {
  std::lock_guard lock(mu_);
  for (auto& [name, w] : watchers_) {
    w.watcher->stop();
    if (w.checked || artifacts_dir.empty()) continue;
    std::error_code ec;
    fs::create_directories(artifacts_dir, ec);
    std::ofstream out(watch_file(artifacts_dir, scenario, name), std::ios::binary | std::ios::trunc);
    out << redactor(watch_history_json(w.watcher->history()));
  }
  watchers_.clear();
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
