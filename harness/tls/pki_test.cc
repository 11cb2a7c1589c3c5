#include "tls/pki.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/process.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

// EC P-256 keeps the tests fast; one test covers RSA.
const KeySpec kEc{KeySpec::Type::EcP256, 0};
const CertSubject kNode{"dcs-00", "192.168.56.10", "dcs-00.patroni.mydomain"};

CaOptions ca_options(const std::string& cn = "dcs-ca") {
  CaOptions o;
  o.key = kEc;
  o.common_name = cn;
  return o;
}
CertOptions cert_options() {
  CertOptions o;
  o.key = kEc;
  return o;
}

int mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return -1;
  return st.st_mode & 07777;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

class PkiDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dcslab-pki-" + std::to_string(::getpid()) + "-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(Pki, KeySpecs) {
  EXPECT_EQ(KeySpec::parse("rsa:4096")->bits, 4096);
  EXPECT_EQ(KeySpec::parse("rsa")->bits, 4096);
  EXPECT_EQ(KeySpec::parse("ec:p256")->type, KeySpec::Type::EcP256);
  EXPECT_EQ(KeySpec::parse("rsa:2048")->str(), "rsa:2048");
  for (const char* bad : {"", "dsa", "rsa:", "rsa:12", "rsa:abc", "ec:p384"})
    EXPECT_FALSE(KeySpec::parse(bad)) << bad;
  EXPECT_FALSE(generate_key(KeySpec{KeySpec::Type::Rsa, 1024}));  // too weak outside tests
}

TEST(Pki, CaHasTheSeedsSubjectAndIsACa) {
  auto ca = create_ca(ca_options());
  ASSERT_TRUE(ca) << ca.error().message;
  const auto info = describe(*ca->cert);
  EXPECT_EQ(info.subject, "CN=dcs-ca");
  EXPECT_EQ(info.issuer, "CN=dcs-ca");
  EXPECT_TRUE(info.is_ca);
  EXPECT_EQ(info.key, "EC P-256");
  // 3650 days, give or take the second the test takes.
  EXPECT_NEAR(static_cast<double>(info.not_after_t - info.not_before_t), 3650.0 * 86400, 5);
  EXPECT_TRUE(verify_chain(*ca->cert, *ca->cert));  // self-signed
}

TEST(Pki, NodeCertificateHasTheSeedsSansChainAndKey) {
  auto ca = create_ca(ca_options());
  ASSERT_TRUE(ca);
  auto issued = issue_cert(*ca, kNode, cert_options());
  ASSERT_TRUE(issued) << issued.error().message;
  const auto info = describe(*issued->cert);
  EXPECT_EQ(info.subject, "CN=dcs-00");
  EXPECT_EQ(info.issuer, "CN=dcs-ca");
  const std::vector<std::string> five = {"IP:192.168.56.10", "IP:127.0.0.1", "DNS:localhost",
                                         "DNS:dcs-00", "DNS:dcs-00.patroni.mydomain"};
  EXPECT_EQ(info.sans, five);
  EXPECT_EQ(seed_sans(kNode), five);
  EXPECT_EQ(info.ext_key_usage, (std::vector<std::string>{"serverAuth", "clientAuth"}));
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.sha256.size(), 32u * 3 - 1);
  EXPECT_GE(info.serial.size(), 38u);  // 159 random bits
  EXPECT_TRUE(verify_chain(*ca->cert, *issued->cert));
  EXPECT_TRUE(check_sans(*issued->cert, five));
  EXPECT_TRUE(check_key_matches(*issued->cert, *issued->key));
  EXPECT_EQ(issued->ext_text,
            "subjectAltName = @alt_names\n\n[alt_names]\nIP.1 = 192.168.56.10\nIP.2 = 127.0.0.1\n"
            "DNS.1 = localhost\nDNS.2 = dcs-00\nDNS.3 = dcs-00.patroni.mydomain\n");

  // Two certificates never share a serial.
  auto again = issue_cert(*ca, kNode, cert_options());
  ASSERT_TRUE(again);
  EXPECT_NE(describe(*again->cert).serial, info.serial);
  // Another node's key does not match.
  auto wrong = check_key_matches(*issued->cert, *again->key);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("does not belong"), std::string::npos);
  // SANs must match exactly, in order.
  auto other_sans = five;
  std::swap(other_sans[0], other_sans[1]);
  EXPECT_FALSE(check_sans(*issued->cert, other_sans));
}

TEST(Pki, RsaAsTheSeedMakesIt) {
  CaOptions o = ca_options();
  o.key = KeySpec{KeySpec::Type::Rsa, 2048};
  auto ca = create_ca(o);
  ASSERT_TRUE(ca);
  CertOptions c;
  c.key = KeySpec{KeySpec::Type::Rsa, 2048};
  auto issued = issue_cert(*ca, kNode, c);
  ASSERT_TRUE(issued);
  EXPECT_EQ(describe(*issued->cert).key, "RSA 2048");
  EXPECT_TRUE(verify_chain(*ca->cert, *issued->cert));
  // PEM round trip: what the files hold reads back as the same certificate and key.
  auto cert = parse_cert(cert_pem(*issued->cert), "crt");
  auto key = parse_key(key_pem(*issued->key), "key");
  ASSERT_TRUE(cert && key);
  EXPECT_TRUE(check_key_matches(**cert, **key));
  EXPECT_EQ(describe(**cert).sha256, describe(*issued->cert).sha256);
}

TEST(Pki, CertificateOfAnotherCaFails) {
  auto ca = create_ca(ca_options());
  auto other = create_ca(ca_options("dcs-other-ca"));
  ASSERT_TRUE(ca && other);
  auto issued = issue_cert(*other, kNode, cert_options());
  ASSERT_TRUE(issued);
  auto r = verify_chain(*ca->cert, *issued->cert);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unable to get local issuer certificate"), std::string::npos)
      << r.error().message;
  // Even a CA with the same name is another CA: the signature decides.
  auto impostor = create_ca(ca_options("dcs-ca"));
  ASSERT_TRUE(impostor);
  auto r2 = verify_chain(*impostor->cert, *issued->cert);
  EXPECT_FALSE(r2);
  EXPECT_TRUE(verify_chain(*other->cert, *issued->cert));
}

TEST(Pki, ExpiredCertificateFails) {
  auto ca = create_ca(ca_options());
  ASSERT_TRUE(ca);
  CertOptions o = cert_options();
  o.start_offset_seconds = -30L * 86400;
  o.days = 1;
  auto issued = issue_cert(*ca, kNode, o);
  ASSERT_TRUE(issued);
  auto r = verify_chain(*ca->cert, *issued->cert);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("certificate has expired"), std::string::npos) << r.error().message;
  // Its window: one day, 30 days ago.
  const auto info = describe(*issued->cert);
  EXPECT_NEAR(static_cast<double>(std::time(nullptr) - info.not_before_t), 30.0 * 86400, 5);
  EXPECT_EQ(info.not_after_t - info.not_before_t, 86400);
  // And a valid one is not yet valid before its window.
  auto fresh = issue_cert(*ca, kNode, cert_options());
  ASSERT_TRUE(fresh);
  auto early = verify_chain(*ca->cert, *fresh->cert, std::time(nullptr) - 86400);
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message.find("not yet valid"), std::string::npos) << early.error().message;
}

TEST(Pki, ClientCertificateWithoutACommonName) {
  auto ca = create_ca(ca_options());
  auto key = generate_key(kEc);
  ASSERT_TRUE(ca && key);
  ClientCertOptions o;
  o.organization = "dcslab-writer";
  auto cert = issue_client_cert(*ca, **key, o);
  ASSERT_TRUE(cert) << cert.error().message;
  const CertInfo info = describe(**cert);
  EXPECT_EQ(info.subject, "O=dcslab-writer");
  EXPECT_EQ(info.issuer, "CN=dcs-ca");
  EXPECT_EQ(info.ext_key_usage, std::vector<std::string>{"clientAuth"});
  EXPECT_FALSE(info.is_ca);
  EXPECT_TRUE(info.sans.empty());
  EXPECT_TRUE(verify_chain(*ca->cert, **cert));
  EXPECT_TRUE(check_key_matches(**cert, **key));
  // From an hour ago (a node's clock may be behind) to two days from now.
  const std::time_t now = std::time(nullptr);
  EXPECT_NEAR(static_cast<double>(now - info.not_before_t), 3600, 5);
  EXPECT_NEAR(static_cast<double>(info.not_after_t - now), 2 * 86400, 5);
  // A Common Name only when asked for.
  o.common_name = "someone";
  auto named = issue_client_cert(*ca, **key, o);
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_EQ(describe(**named).subject, "O=dcslab-writer, CN=someone");
}

TEST_F(PkiDirTest, WritesTheSeedsFilesWithTheSeedsModes) {
  const PkiDir pki(dir_);
  bool created = false;
  auto ca = pki.ensure_ca(ca_options(), &created);
  ASSERT_TRUE(ca) << ca.error().message;
  EXPECT_TRUE(created);
  bool issued = false;
  ASSERT_TRUE(pki.ensure_node(*ca, kNode, cert_options(), false, &issued));
  EXPECT_TRUE(issued);
  EXPECT_EQ(mode_of(dir_ / "ca.key"), 0600);
  EXPECT_EQ(mode_of(dir_ / "ca.crt"), 0640);
  EXPECT_EQ(mode_of(dir_ / "dcs-00.key"), 0640);
  EXPECT_EQ(mode_of(dir_ / "dcs-00.crt"), 0640);
  EXPECT_EQ(mode_of(dir_ / "dcs-00.csr"), 0644);
  EXPECT_EQ(mode_of(dir_ / "dcs-00.ext"), 0644);
  EXPECT_EQ(mode_of(dir_), 0700);
  EXPECT_EQ(slurp(dir_ / "dcs-00.ext"), san_ext_text(kNode));
  EXPECT_NE(slurp(dir_ / "dcs-00.csr").find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
  EXPECT_TRUE(pki.verify_node(*ca, kNode));
  EXPECT_FALSE(fs::exists(dir_ / "dcs-00.crt.tmp"));

  // Idempotent: the CA and a valid node certificate are reused; force reissues.
  const std::string fp = describe(**load_cert(dir_ / "dcs-00.crt")).sha256;
  auto ca2 = pki.ensure_ca(ca_options(), &created);
  ASSERT_TRUE(ca2);
  EXPECT_FALSE(created);
  EXPECT_EQ(describe(*ca2->cert).sha256, describe(*ca->cert).sha256);
  ASSERT_TRUE(pki.ensure_node(*ca2, kNode, cert_options(), false, &issued));
  EXPECT_FALSE(issued);
  EXPECT_EQ(describe(**load_cert(dir_ / "dcs-00.crt")).sha256, fp);
  ASSERT_TRUE(pki.ensure_node(*ca2, kNode, cert_options(), true, &issued));
  EXPECT_TRUE(issued);
  EXPECT_NE(describe(**load_cert(dir_ / "dcs-00.crt")).sha256, fp);

  // A certificate whose SANs no longer fit the node (its address changed) is reissued.
  CertSubject moved = kNode;
  moved.ip = "192.168.56.20";
  EXPECT_FALSE(pki.verify_node(*ca2, moved));
  ASSERT_TRUE(pki.ensure_node(*ca2, moved, cert_options(), false, &issued));
  EXPECT_TRUE(issued);
  EXPECT_EQ(describe(**load_cert(dir_ / "dcs-00.crt")).sans.front(), "IP:192.168.56.20");
}

// The openssl CLI is allowed in tests: it is the reference the lab document uses.
TEST_F(PkiDirTest, OpensslCliAcceptsWhatWeWriteAndWeReadWhatItWrites) {
  const PkiDir pki(dir_);
  auto ca = pki.ensure_ca(ca_options());
  ASSERT_TRUE(ca);
  ASSERT_TRUE(pki.ensure_node(*ca, kNode, cert_options(), false));
  auto v = run_process({"openssl", "verify", "-CAfile", (dir_ / "ca.crt").string(),
                        (dir_ / "dcs-00.crt").string()});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->exit_status, 0) << v->output;
  EXPECT_NE(v->output.find(": OK"), std::string::npos) << v->output;
  auto k = run_process({"openssl", "pkey", "-in", (dir_ / "dcs-00.key").string(), "-noout"});
  ASSERT_TRUE(k);
  EXPECT_EQ(k->exit_status, 0) << k->output;

  // The lab document's own commands (a 2048-bit key to keep it quick).
  const fs::path s = dir_ / "seed";
  fs::create_directories(s);
  const std::string sh =
      "set -e; cd " + shell_quote(s.string()) +
      "; openssl genrsa -out ca.key 2048 2>/dev/null"
      "; openssl req -x509 -new -nodes -key ca.key -subj '/CN=dcs-ca' -days 3650 -out ca.crt"
      "; openssl genrsa -out dcs-00.key 2048 2>/dev/null"
      "; openssl req -new -key dcs-00.key -subj '/CN=dcs-00' -out dcs-00.csr"
      "; printf '%s' " + shell_quote(san_ext_text(kNode)) + " > dcs-00.ext"
      "; openssl x509 -req -in dcs-00.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
      " -out dcs-00.crt -days 3650 -extfile dcs-00.ext 2>&1";
  auto seed = run_process({"bash", "-c", sh});
  ASSERT_TRUE(seed);
  ASSERT_EQ(seed->exit_status, 0) << seed->output;
  const PkiDir seed_dir(s);
  auto seed_ca = seed_dir.load_ca();
  ASSERT_TRUE(seed_ca) << seed_ca.error().message;
  EXPECT_TRUE(seed_dir.verify_node(*seed_ca, kNode));
  const auto info = describe(**load_cert(s / "dcs-00.crt"));
  EXPECT_EQ(info.sans, seed_sans(kNode));
  EXPECT_EQ(info.subject, "CN=dcs-00");
  EXPECT_EQ(info.issuer, "CN=dcs-ca");
  EXPECT_EQ(info.key, "RSA 2048");
  EXPECT_TRUE(info.ext_key_usage.empty());  // the document's certificate has no EKU
  auto fp = run_process({"openssl", "x509", "-in", (s / "dcs-00.crt").string(), "-noout",
                         "-fingerprint", "-sha256"});
  ASSERT_TRUE(fp);
  EXPECT_NE(fp->output.find(info.sha256), std::string::npos) << fp->output << " vs " << info.sha256;
  // Our CA does not vouch for the document's certificate.
  EXPECT_FALSE(verify_chain(*ca->cert, **load_cert(s / "dcs-00.crt")));
}

// A CA that signs elsewhere (on a node, with the lab document's openssl) gets the CSR and
// the extension file: what it makes is what issue_client_cert makes.
TEST_F(PkiDirTest, OpensslSignsTheClientCsrAsIssueClientCertWould) {
  const PkiDir pki(dir_);
  auto ca = pki.ensure_ca(ca_options());
  auto key = generate_key(kEc);
  ASSERT_TRUE(ca && key);
  ClientCertOptions o;
  o.organization = "dcslab-writer";
  auto csr = client_csr(**key, o);
  ASSERT_TRUE(csr) << csr.error().message;
  ASSERT_TRUE(write_file_mode(dir_ / "w.csr", csr_pem(**csr), 0644));
  ASSERT_TRUE(write_file_mode(dir_ / "w.ext", client_cert_ext_text(), 0644));
  EXPECT_EQ(client_cert_ext_text(),
            "basicConstraints = critical,CA:FALSE\n"
            "keyUsage = critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage = clientAuth\n");
  auto signed_there = run_process(
      {"openssl", "x509", "-req", "-in", (dir_ / "w.csr").string(), "-CA", pki.ca_cert().string(),
       "-CAkey", pki.ca_key().string(), "-set_serial", "0x1234", "-days", "2", "-extfile",
       (dir_ / "w.ext").string(), "-out", (dir_ / "w.crt").string()});
  ASSERT_TRUE(signed_there);
  ASSERT_EQ(signed_there->exit_status, 0) << signed_there->output;
  auto there = load_cert(dir_ / "w.crt");
  auto here = issue_client_cert(*ca, **key, o);
  ASSERT_TRUE(there && here);
  const CertInfo a = describe(**there), b = describe(**here);
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.ext_key_usage, b.ext_key_usage);
  EXPECT_EQ(a.is_ca, b.is_ca);
  EXPECT_TRUE(verify_chain(*ca->cert, **there));
  EXPECT_TRUE(check_key_matches(**there, **key));
}

TEST_F(PkiDirTest, NegativeMaterial) {
  LabState state(dir_, "t");
  auto valid = ensure_lab_material(state, kNode, CertVariant::Valid, ca_options(), cert_options());
  auto other = ensure_lab_material(state, kNode, CertVariant::OtherCa, ca_options(), cert_options());
  bool issued = false;
  auto expired = ensure_lab_material(state, kNode, CertVariant::Expired, ca_options(),
                                     cert_options(), false, &issued);
  ASSERT_TRUE(valid && other && expired);
  EXPECT_TRUE(issued);
  EXPECT_EQ(valid->dir(), dir_ / "labs/t/pki");
  auto lab_ca = PkiDir(valid->dir()).load_ca();
  ASSERT_TRUE(lab_ca);
  auto other_cert = load_cert(other->node_file("dcs-00", "crt"));
  auto expired_cert = load_cert(expired->node_file("dcs-00", "crt"));
  ASSERT_TRUE(other_cert && expired_cert);
  EXPECT_EQ(describe(**other_cert).issuer, "CN=dcs-other-ca");
  EXPECT_EQ(describe(**other_cert).sans, seed_sans(kNode));
  EXPECT_FALSE(verify_chain(*lab_ca->cert, **other_cert));
  auto e = verify_chain(*lab_ca->cert, **expired_cert);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("expired"), std::string::npos);
  EXPECT_EQ(slurp(expired->ca_cert()), slurp(valid->ca_cert()));
  // Reused on the next call.
  ASSERT_TRUE(ensure_lab_material(state, kNode, CertVariant::Expired, ca_options(),
                                  cert_options(), false, &issued));
  EXPECT_FALSE(issued);
}

// Private keys never reach a log line, at any level.
TEST_F(PkiDirTest, PrivateKeysNeverReachTheLog) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_level(spdlog::level::trace);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  LabState state(dir_, "t");
  for (auto v : {CertVariant::Valid, CertVariant::OtherCa, CertVariant::Expired})
    ASSERT_TRUE(ensure_lab_material(state, kNode, v, ca_options(), cert_options()));
  // A bad key file is reported without its content.
  const PkiDir pki(lab_pki_dir(state));
  const std::string key_text = slurp(pki.node_file("dcs-00", "key"));
  {
    std::ofstream broken(pki.node_file("dcs-00", "key"));
    broken << key_text.substr(0, key_text.size() / 2);
  }
  auto ca = pki.load_ca();
  ASSERT_TRUE(ca);
  ASSERT_TRUE(pki.ensure_node(*ca, kNode, cert_options(), false));  // reissued, logged
  spdlog::set_default_logger(previous);

  const std::string log = captured.str();
  EXPECT_NE(log.find("created CA CN=dcs-ca"), std::string::npos) << log;
  EXPECT_NE(log.find("reissuing the certificate of dcs-00"), std::string::npos) << log;
  EXPECT_EQ(log.find("PRIVATE KEY"), std::string::npos) << log;
  for (const fs::path& key : {pki.ca_key(), pki.node_file("dcs-00", "key"),
                              PkiDir(other_ca_dir(state)).ca_key()}) {
    std::istringstream lines(slurp(key));
    std::string line;
    int body = 0;
    while (std::getline(lines, line)) {
      if (line.find("-----") != std::string::npos || line.size() < 16) continue;
      ++body;
      EXPECT_EQ(log.find(line), std::string::npos) << "key material of " << key << " in the log";
    }
    EXPECT_GT(body, 0) << key;
  }
}

}  // namespace
}  // namespace dcslab
