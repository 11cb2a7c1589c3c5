// pki_issue and expect_tls through the runner: a fake transport records what is put on
// the node; expect_tls connects for real, to openssl s_server on loopback.
#include "run/pki_steps.h"
#include "base/paths.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "testing/fake_lab.h"
#include "report/report_console.h"
#include "run/runner.h"
#include "testing/s_server_fixture.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

class PkiStepsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() /
            ("dcslab-pki-steps-" + std::to_string(::getpid()) + "-" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(home_);
    lab_ = std::make_unique<FakeLabControl>(
        load_lab(source_dir() / "fixtures/labs/dcs.yaml"), home_, script_);
  }
  void TearDown() override { fs::remove_all(home_); }

  ScenarioResult run(const std::string& text) {
    Runner runner(*lab_, clock_, progress_, redactor_, {&console_}, RunnerOptions{false, false});
    return runner.run(parse_scenario(text, home_ / "t.yaml", [this](const std::string&) {
      return std::make_pair(lab_->lab(), fs::path("dcs.yaml"));
    }));
  }
  fs::path pki() const { return home_ / "labs/dcs/pki"; }
  std::string all_reported(const ScenarioResult& r) const {
    std::string s = console_out_.str();
    for (const auto& st : r.steps)
      for (const auto& n : st.nodes) {
        s += n.command + n.input + n.out + n.err + n.error;
        for (const auto& f : n.failures) s += f;
      }
    return s;
  }

  fs::path home_;
  FakeScript script_;
  std::unique_ptr<FakeLabControl> lab_;
  FakeClock clock_;
  NullProgress progress_;
  Redactor redactor_;
  std::ostringstream console_out_;
  ConsoleReporter console_{console_out_, true};
};

const char* kIssue = R"(steps:
  - on: [dcs-00, dcs-01]
    pki_issue: {path: /etc/dcs/cert, owner: etcd, group: etcd, key: "ec:p256"}
  - on: dcs-00
    run: sudo cat /etc/dcs/cert/dcs-00.key
)";

TEST_F(PkiStepsTest, IssuePushesTheSeedsFilesWithModesAndOwner) {
  script_.on("install -d", {0, "", ""});
  const auto r = run(kIssue);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_TRUE(r.steps[0].passed) << console_out_.str();
  EXPECT_EQ(r.steps[0].action, "pki_issue");

  // The folder first, as the document makes it.
  const auto dirs = script_.requests_matching("install -d");
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_EQ(dirs[0].command, "sudo -n install -d -m 0770 -o etcd -g etcd /etc/dcs/cert");
  for (const char* node : {"dcs-00", "dcs-01"}) {
    std::map<std::string, FakeRequest> puts;
    for (const auto& q : script_.requests())
      if (q.kind == "put" && q.node == node) puts[q.command] = q;
    const std::string host = node;
    ASSERT_EQ(puts.size(), 3u) << node;  // no CA key unless asked
    for (const auto& [path, mode] : std::vector<std::pair<std::string, int>>{
             {"/etc/dcs/cert/ca.crt", 0640}, {"/etc/dcs/cert/" + host + ".crt", 0640},
             {"/etc/dcs/cert/" + host + ".key", 0640}}) {
      ASSERT_TRUE(puts.count(path)) << path;
      EXPECT_EQ(puts[path].attrs.mode, mode) << path;
      EXPECT_EQ(puts[path].attrs.owner, "etcd");
      EXPECT_EQ(puts[path].attrs.group, "etcd");
    }
    // What was pushed is the lab PKI's, and it verifies with the node's SANs.
    EXPECT_EQ(puts["/etc/dcs/cert/" + host + ".crt"].content, slurp(pki() / (host + ".crt")));
    auto ca = parse_cert(puts["/etc/dcs/cert/ca.crt"].content, "ca");
    auto crt = parse_cert(puts["/etc/dcs/cert/" + host + ".crt"].content, "crt");
    ASSERT_TRUE(ca && crt);
    EXPECT_TRUE(verify_chain(**ca, **crt));
    EXPECT_TRUE(check_sans(**crt, seed_sans(CertSubject::of(*lab_->lab().find_node(host)))));
  }
  EXPECT_TRUE(fs::exists(pki() / "ca.key"));

  // Keys never reach a report: not as content, and a later `cat` of one is redacted.
  const std::string key = slurp(pki() / "dcs-00.key");
  ASSERT_NE(key.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(all_reported(r).find("PRIVATE KEY"), std::string::npos) << all_reported(r);
  EXPECT_TRUE(r.steps[0].nodes[0].input.empty());
  EXPECT_NE(r.steps[0].nodes[0].out.find("SHA-256"), std::string::npos);
}

TEST_F(PkiStepsTest, LaterOutputOfAKeyIsRedacted) {
  script_.on("install -d", {0, "", ""});
  // The fake answers the cat with whatever the file is when asked: the pushed key.
  const auto first = run("steps:\n  - {on: dcs-00, pki_issue: {key: \"ec:p256\"}}\n");
  ASSERT_TRUE(first.passed);
  script_.on("cat /etc/dcs/cert/dcs-00.key", {0, slurp(pki() / "dcs-00.key"), ""});
  const auto r = run(kIssue);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[1].nodes[0].out, "********");
  EXPECT_EQ(console_out_.str().find("PRIVATE KEY"), std::string::npos);
  // And the certificate was kept, not reissued.
  EXPECT_NE(r.steps[0].nodes[0].out.find("kept "), std::string::npos) << r.steps[0].nodes[0].out;
}

TEST_F(PkiStepsTest, CaKeyOnlyWhenAskedAndNegativeVariants) {
  script_.on("install -d", {0, "", ""});
  auto r = run("steps:\n  - on: dcs-02\n    as: root\n"
               "    pki_issue: {path: /srv/pki, push_ca_key: true, variant: other-ca, key: \"ec:p256\"}\n");
  ASSERT_TRUE(r.passed) << console_out_.str();
  EXPECT_EQ(script_.requests_matching("install -d")[0].command, "install -d -m 0770 /srv/pki");
  FakeRequest ca_key;
  for (const auto& q : script_.requests())
    if (q.command == "/srv/pki/ca.key") ca_key = q;
  EXPECT_EQ(ca_key.attrs.mode, 0600);
  EXPECT_EQ(ca_key.content, slurp(pki() / "other-ca/ca.key"));
  auto crt = parse_cert(script_.requests_matching("/srv/pki/dcs-02.crt")[0].content, "crt");
  ASSERT_TRUE(crt);
  EXPECT_EQ(describe(**crt).issuer, "CN=dcs-other-ca");
}

TEST_F(PkiStepsTest, FolderThatCannotBeMadeFailsTheStep) {
  script_.on("install -d", {1, "", "install: invalid user 'etcd'\n"});
  const auto r = run("steps:\n  - {on: dcs-00, pki_issue: {owner: etcd, key: \"ec:p256\"}}\n");
  EXPECT_FALSE(r.passed);
  const auto& n = r.steps[0].nodes[0];
  EXPECT_EQ(n.exit_status, 1);
  EXPECT_NE(n.err.find("invalid user"), std::string::npos);
  for (const auto& q : script_.requests()) EXPECT_NE(q.kind, "put") << q.command;
}

TEST_F(PkiStepsTest, ExpectTlsAgainstAServerRequiringClientCertificates) {
  script_.on("install -d", {0, "", ""});
  ASSERT_TRUE(run("steps:\n  - {on: [dcs-00, dcs-01], pki_issue: {key: \"ec:p256\"}}\n").passed);
  SServer server({"-cert", (pki() / "dcs-00.crt").string(), "-key", (pki() / "dcs-00.key").string(),
                  "-CAfile", (pki() / "ca.crt").string(), "-Verify", "1", "-verify_return_error"});
  ASSERT_GT(server.port(), 0) << server.log();
  const std::string port = std::to_string(server.port());
  // A new lab control on the same lab state (as a new `dcslab run` has): no session is
  // kept from the issue above, so every session the steps below need is opened anew.
  lab_ = std::make_unique<FakeLabControl>(lab_->lab(), home_, script_);
  const auto r = run(R"(steps:
  - name: with the client certificate
    on: dcs-00
    expect_tls:
      host: 127.0.0.1
      port: )" + port + R"(
      client_cert: true
      expect:
        handshake: ok
        sans: ["IP:{{ node.ip }}", "IP:127.0.0.1", "DNS:localhost", "DNS:{{ node.name }}", "DNS:{{ node.fqdn }}"]
        san_contains: "DNS:{{ node.fqdn }}"
        issuer: CN = dcs-ca
        subject: /CN=dcs-00
        protocol: TLSv1.3
  - name: without
    on: dcs-00
    expect_tls: {host: 127.0.0.1, port: )" + port + R"(, expect: {handshake: fail}}
  - name: another node's certificate is of the lab too
    on: dcs-00
    expect_tls: {host: 127.0.0.1, port: )" + port + R"(, client_cert: {node: dcs-01}}
  - name: a certificate of another CA
    on: dcs-00
    expect_tls: {host: 127.0.0.1, port: )" + port + R"(, client_cert: other-ca, expect: {handshake: fail}}
  - name: an expired one
    on: dcs-00
    expect_tls: {host: 127.0.0.1, port: )" + port + R"(, client_cert: expired, expect: {handshake: fail}}
  - name: the CA and certificate read from the node
    on: dcs-00
    expect_tls:
      host: 127.0.0.1
      port: )" + port + R"(
      ca: node:/etc/dcs/cert/ca.crt
      client_cert: {cert: "node:/etc/dcs/cert/{{ node.name }}.crt", key: "node:/etc/dcs/cert/{{ node.name }}.key"}
)");
  EXPECT_TRUE(r.passed) << console_out_.str();
  ASSERT_EQ(r.steps.size(), 6u);
  EXPECT_EQ(r.steps[0].nodes[0].exit_status, 0);
  EXPECT_NE(r.steps[0].nodes[0].out.find("protocol: TLSv1.3"), std::string::npos);
  EXPECT_EQ(r.steps[1].nodes[0].exit_status, 1);
  EXPECT_NE(r.steps[1].nodes[0].out.find("certificate required"), std::string::npos)
      << r.steps[1].nodes[0].out;
  // Only the step that reads from the node opened a session.
  EXPECT_EQ(lab_->connects, std::vector<std::string>{"dcs-00/tux"});
  EXPECT_EQ(all_reported(r).find("PRIVATE KEY"), std::string::npos);

  // An expectation that does not hold says what was observed.
  const auto bad = run(R"(steps:
  - on: dcs-00
    expect_tls:
      host: 127.0.0.1
      port: )" + port + R"(
      expect: {handshake: ok, issuer: CN=dcs-other-ca, protocol: TLSv1.2, san_contains: "DNS:dcs-01"}
)");
  EXPECT_FALSE(bad.passed);
  const auto& f = bad.steps[0].nodes[0].failures;
  ASSERT_EQ(f.size(), 4u) << console_out_.str();
  EXPECT_EQ(f[0].rfind("handshake: expected ok, observed fail (", 0), 0u) << f[0];
  EXPECT_EQ(f[1], "san_contains: DNS:dcs-01 is not among [IP:192.168.56.10, IP:127.0.0.1, "
                  "DNS:localhost, DNS:dcs-00, DNS:dcs-00.patroni.mydomain]");
  EXPECT_EQ(f[2], "issuer: expected CN=dcs-other-ca, observed CN=dcs-ca");
  EXPECT_EQ(f[3], "protocol: expected TLSv1.2, observed TLSv1.3");
}

TEST_F(PkiStepsTest, ExpectTlsRepeatsUntilTheServerIsUpAndErrorsWithoutIt) {
  // No CA yet: a clear error, no connection attempted.
  auto r = run("steps:\n  - {on: dcs-00, expect_tls: {host: 127.0.0.1, port: 1}}\n");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.steps[0].nodes[0].error.find("the lab has no CA yet"), std::string::npos)
      << r.steps[0].nodes[0].error;
  // Nothing listening: an error (not "handshake: fail"), repeated on the fake clock.
  script_.on("install -d", {0, "", ""});
  ASSERT_TRUE(run("steps:\n  - {on: dcs-00, pki_issue: {key: \"ec:p256\"}}\n").passed);
  r = run("steps:\n  - on: dcs-00\n    expect_tls: {host: 127.0.0.1, port: 1, expect: {handshake: fail}}\n"
          "    until: {interval: 2s, timeout: 10s}\n");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.steps[0].nodes[0].attempts, 6);
  EXPECT_NE(r.steps[0].nodes[0].error.find("cannot connect to 127.0.0.1:1"), std::string::npos)
      << r.steps[0].nodes[0].error;
}

// The end-to-end scenario (tests/e2e/pki_tls_nspawn.sh) loads, and uses both actions.
TEST(PkiStepsScenario, EndToEndScenarioLoads) {
  const Scenario sc = load_scenario(source_dir() / "fixtures/e2e/pki-tls.yaml");
  int issue = 0, tls = 0;
  for (const auto& st : sc.steps) {
    issue += std::holds_alternative<PkiIssueSpec>(st.action);
    tls += std::holds_alternative<TlsSpec>(st.action);
  }
  EXPECT_EQ(issue, 2);
  EXPECT_EQ(tls, 5);
  EXPECT_EQ(std::get<PkiIssueSpec>(sc.steps[3].action).owner, "etcd");
  EXPECT_EQ(std::get<PkiIssueSpec>(sc.steps[3].action).key.str(), "rsa:4096");  // the document's
}

}  // namespace
}  // namespace dcslab
