#include "tls/tls_probe.h"

#include "testing/s_server_fixture.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace dcslab {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

class TlsProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("dcslab-tls-probe-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    state_ = std::make_unique<LabState>(dir_, "t");
    CaOptions ca;
    ca.key = KeySpec{KeySpec::Type::EcP256, 0};
    CertOptions c;
    c.key = ca.key;
    const CertSubject node{"dcs-00", "192.168.56.10", "dcs-00.patroni.mydomain"};
    const CertSubject client{"dcs-01", "192.168.56.11", "dcs-01.patroni.mydomain"};
    for (auto v : {CertVariant::Valid, CertVariant::OtherCa, CertVariant::Expired})
      for (const auto& who : {node, client})
        ASSERT_TRUE(ensure_lab_material(*state_, who, v, ca, c));
  }
  static void TearDownTestSuite() {
    state_.reset();
    fs::remove_all(dir_);
  }
  static fs::path pki(CertVariant v = CertVariant::Valid) {
    return v == CertVariant::Valid ? lab_pki_dir(*state_)
           : v == CertVariant::OtherCa ? other_ca_dir(*state_) : expired_dir(*state_);
  }
  // A server like etcd with client-cert-auth: dcs-00's certificate, clients must present
  // one of the lab CA.
  static std::vector<std::string> etcd_like(CertVariant server = CertVariant::Valid) {
    return {"-cert", (pki(server) / "dcs-00.crt").string(), "-key", (pki(server) / "dcs-00.key").string(),
            "-CAfile", (pki() / "ca.crt").string(), "-Verify", "1",
            // s_server otherwise only reports a bad client certificate and goes on
            "-verify_return_error"};
  }
  static TlsProbeOptions options(int port, CertVariant client = CertVariant::Valid, bool with_cert = true) {
    TlsProbeOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.ca_pem = slurp(pki() / "ca.crt");
    o.verify_name = "127.0.0.1";
    if (with_cert) {
      o.cert_pem = slurp(pki(client) / "dcs-01.crt");
      o.key_pem = slurp(pki(client) / "dcs-01.key");
    }
    o.timeout = std::chrono::seconds(5);
    return o;
  }
  static fs::path dir_;
  static std::unique_ptr<LabState> state_;
};
fs::path TlsProbeTest::dir_;
std::unique_ptr<LabState> TlsProbeTest::state_;

TEST_F(TlsProbeTest, Tls13ClientCertificateRequiredOkWithFailWithout) {
  SServer server(etcd_like());
  ASSERT_GT(server.port(), 0) << server.log();
  auto ok = probe_tls(options(server.port()));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(ok->handshake_ok) << format_probe(*ok);
  EXPECT_EQ(ok->protocol, "TLSv1.3");
  ASSERT_TRUE(ok->server);
  EXPECT_EQ(ok->server->issuer, "CN=dcs-ca");
  EXPECT_EQ(ok->server->subject, "CN=dcs-00");
  EXPECT_EQ(ok->server->sans.back(), "DNS:dcs-00.patroni.mydomain");
  EXPECT_TRUE(ok->client_cert);

  // The handshake completes on our side; the server's alert comes after it.
  auto without = probe_tls(options(server.port(), CertVariant::Valid, false));
  ASSERT_TRUE(without) << without.error().message;
  EXPECT_FALSE(without->handshake_ok) << format_probe(*without);
  EXPECT_NE(without->failure.find("certificate required"), std::string::npos) << without->failure;
  EXPECT_EQ(without->protocol, "TLSv1.3");
  EXPECT_NE(format_probe(*without).find("handshake: fail"), std::string::npos);
}

TEST_F(TlsProbeTest, Tls12ClientCertificateRequired) {
  auto args = etcd_like();
  args.push_back("-tls1_2");
  SServer server(args);
  ASSERT_GT(server.port(), 0) << server.log();
  auto ok = probe_tls(options(server.port()));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(ok->handshake_ok) << format_probe(*ok);
  EXPECT_EQ(ok->protocol, "TLSv1.2");
  auto without = probe_tls(options(server.port(), CertVariant::Valid, false));
  ASSERT_TRUE(without) << without.error().message;
  EXPECT_FALSE(without->handshake_ok) << format_probe(*without);
  EXPECT_FALSE(without->failure.empty());
}

TEST_F(TlsProbeTest, ClientCertificatesOfAnotherCaOrExpiredAreRefused) {
  SServer server(etcd_like());
  ASSERT_GT(server.port(), 0) << server.log();
  auto other = probe_tls(options(server.port(), CertVariant::OtherCa));
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_FALSE(other->handshake_ok) << format_probe(*other);
  auto expired = probe_tls(options(server.port(), CertVariant::Expired));
  ASSERT_TRUE(expired) << expired.error().message;
  EXPECT_FALSE(expired->handshake_ok) << format_probe(*expired);
  EXPECT_NE(expired->failure.find("expired"), std::string::npos) << expired->failure;
  // The server still serves good clients.
  auto ok = probe_tls(options(server.port()));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->handshake_ok) << format_probe(*ok);
}

TEST_F(TlsProbeTest, ServerCertificateIsVerified) {
  SServer server(etcd_like(CertVariant::OtherCa));
  ASSERT_GT(server.port(), 0) << server.log();
  auto r = probe_tls(options(server.port()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->handshake_ok);
  EXPECT_NE(r->failure.find("server certificate verify failed"), std::string::npos) << r->failure;
  ASSERT_TRUE(r->server);  // what it presented is still reported
  EXPECT_EQ(r->server->issuer, "CN=dcs-other-ca");
  // Not verifying (no CA), the same server is fine.
  auto o = options(server.port());
  o.ca_pem.clear();
  o.cert_pem.clear();
  o.key_pem.clear();
  SServer open_server({"-cert", (pki(CertVariant::OtherCa) / "dcs-00.crt").string(), "-key",
                       (pki(CertVariant::OtherCa) / "dcs-00.key").string()});
  o.port = open_server.port();
  auto unverified = probe_tls(o);
  ASSERT_TRUE(unverified) << unverified.error().message;
  EXPECT_TRUE(unverified->handshake_ok) << format_probe(*unverified);
}

TEST_F(TlsProbeTest, NameMustBeInTheServersSans) {
  SServer server(etcd_like());
  ASSERT_GT(server.port(), 0) << server.log();
  auto o = options(server.port());
  o.verify_name = "192.168.56.11";  // dcs-01's address, not in dcs-00's certificate
  auto r = probe_tls(o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->handshake_ok);
  EXPECT_NE(r->failure.find("IP address mismatch"), std::string::npos) << r->failure;
  o.verify_name = "dcs-00.patroni.mydomain";
  auto by_name = probe_tls(o);
  ASSERT_TRUE(by_name);
  EXPECT_TRUE(by_name->handshake_ok) << format_probe(*by_name);
}

TEST_F(TlsProbeTest, NoServerIsAFailureNotAResult) {
  // A port nothing listens on: bind one, note it, close it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  const int port = ntohs(addr.sin_port);
  auto r = probe_tls(options(port));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Refused) << r.error().message;
  auto bad_key = options(port);
  bad_key.key_pem = slurp(pki() / "dcs-00.key");  // not dcs-01's
  auto k = probe_tls(bad_key);
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message.find("does not belong"), std::string::npos) << k.error().message;
  EXPECT_EQ(k.error().message.find("PRIVATE"), std::string::npos);
}

}  // namespace
}  // namespace dcslab
