// The copy action: as the loader reads it, and as the runner carries it out on a fake
// lab that records every read and write.
#include "run/copy_steps.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/digest.h"
#include "testing/fake_lab.h"
#include "testing/fake_lab_fixture.h"
#include "report/report_console.h"
#include "report/report_files.h"
#include "run/runner.h"
#include "scenario/scenario_test_util.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

Scenario parse(const std::string& text) { return parse_against_dcs_lab(text); }
std::string error_of(const std::string& text) { return load_error_of(text); }

TEST(CopyLoad, OneFileWithModeAndOwner) {
  const Scenario sc = parse(R"(steps:
  - on: dcs-01
    copy:
      from: "{{ node.name }}:/etc/dcs/cert/{{ node.name }}.csr"
      to: dcs-00:/etc/dcs/cert/
      mode: "0640"
      owner: etcd:etcd
)");
  const Step& st = sc.steps[0];
  ASSERT_TRUE(std::holds_alternative<CopySpec>(st.action));
  EXPECT_STREQ(action_name(st.action), "copy");
  const CopySpec& copy = std::get<CopySpec>(st.action);
  EXPECT_EQ(st.on, std::vector<std::string>{"dcs-01"});
  ASSERT_EQ(copy.from.size(), 1u);
  EXPECT_EQ(copy.from[0].node, "{{ node.name }}");
  EXPECT_EQ(copy.from[0].path, "/etc/dcs/cert/{{ node.name }}.csr");
  EXPECT_EQ(copy.to.node, "dcs-00");
  EXPECT_EQ(copy.to.path, "/etc/dcs/cert/");
  EXPECT_EQ(copy.mode, 0640);
  EXPECT_EQ(copy.owner, "etcd");  // owner: USER:GROUP, as chown takes it
  EXPECT_EQ(copy.group, "etcd");
  EXPECT_EQ(st.name, "copy {{ node.name }}:/etc/dcs/cert/{{ node.name }}.csr to dcs-00:/etc/dcs/cert/");
}

TEST(CopyLoad, SeveralFilesAndNoOn) {
  const Scenario sc = parse(R"(vars: {src: dcs-02}
steps:
  - copy:
      from: [dcs-00:/etc/dcs/cert/ca.crt, dcs-00:/etc/dcs/cert/dcs-01.crt]
      to: dcs-01:/etc/dcs/cert/
      group: etcd
  - copy: {from: "{{ vars.src }}:/tmp/a", to: dcs-01:/tmp/b}
)");
  const Step& a = sc.steps[0];
  const CopySpec& a_copy = std::get<CopySpec>(a.action);
  // Without `on` the step runs on the (first) source's node.
  EXPECT_EQ(a.on, std::vector<std::string>{"dcs-00"});
  ASSERT_EQ(a_copy.from.size(), 2u);
  EXPECT_EQ(a_copy.from[1].path, "/etc/dcs/cert/dcs-01.crt");
  EXPECT_FALSE(a_copy.mode);  // the source's mode
  EXPECT_EQ(a_copy.owner, "");
  EXPECT_EQ(a_copy.group, "etcd");
  EXPECT_EQ(a.name, "copy dcs-00:/etc/dcs/cert/ca.crt and 1 more to dcs-01:/etc/dcs/cert/");
  // A vars template as the source's node: resolved when the step runs, as `on:` is.
  EXPECT_EQ(sc.steps[1].on_template, "{{ vars.src }}");
}

TEST(CopyLoad, ErrorsNameFileLineColumnAndKey) {
  EXPECT_EQ(error_of("steps:\n  - {on: dcs-00, copy: {from: /tmp/x, to: dcs-01:/tmp/}}\n"),
            "s.yaml:2:31: steps[0].copy.from: expected NODE:/path (e.g. "
            "dcs-01:/etc/dcs/cert/dcs-01.csr), found \"/tmp/x\"");
  EXPECT_EQ(error_of("steps:\n  - {on: dcs-00, copy: {from: dcs-09:/tmp/x, to: dcs-01:/tmp/}}\n"),
            "s.yaml:2:31: steps[0].copy.from: unknown node \"dcs-09\" (valid: dcs-00, dcs-01, dcs-02)");
  // The column of the path inside the value.
  EXPECT_EQ(error_of("steps:\n  - copy:\n      from: dcs-00:/tmp/x\n      to: dcs-01:tmp/\n"),
            "s.yaml:4:18: steps[0].copy.to: \"tmp/\" is not an absolute path on dcs-01");
  EXPECT_EQ(error_of("steps:\n  - copy:\n      from: [dcs-00:/a/x, dcs-01:/b/x]\n      to: dcs-02:/c/\n"),
            "s.yaml:3:27: steps[0].copy.from[1]: a second file named x for dcs-02:/c/ (it would "
            "replace the first)");
  EXPECT_EQ(error_of("steps:\n  - copy:\n      from: [dcs-00:/a/x, dcs-00:/a/y]\n      to: dcs-02:/c\n"),
            "s.yaml:4:11: steps[0].copy.to: several files go to a folder: end the path with / "
            "(\"dcs-02:/c/\")");
  EXPECT_EQ(error_of("steps:\n  - copy: {from: 'dcs-00:/etc/dcs/', to: 'dcs-01:/x/'}\n"),
            "s.yaml:2:18: steps[0].copy.from: \"/etc/dcs/\" is a folder: copy takes files (name each one)");
  EXPECT_EQ(error_of("steps:\n  - copy: {from: 'dcs-00:/x', to: 'dcs-01:/x', perms: '0600'}\n"),
            "s.yaml:2:48: steps[0].copy.perms: unknown key (valid: from, to, mode, owner, group)");
  EXPECT_EQ(error_of("steps:\n  - copy: {from: 'dcs-00:/x'}\n"),
            "s.yaml:2:11: steps[0].copy.to: missing (required: NODE:PATH, a folder if it ends in /)");
  EXPECT_EQ(error_of("steps:\n  - copy: dcs-00:/x\n"),
            "s.yaml:2:11: steps[0].copy: expected {from: NODE:PATH, to: NODE:PATH, ...}, found "
            "\"dcs-00:/x\"");
  EXPECT_EQ(error_of("steps:\n  - copy: {from: 'dcs-00:/x', to: 'dcs-01:/x', mode: '999'}\n"),
            "s.yaml:2:54: steps[0].copy.mode: \"999\" is not an octal mode like 0640");
  EXPECT_EQ(error_of("steps:\n  - copy: {from: 'dcs-00:/x', to: 'dcs-01:/x', owner: 'a:b', group: c}\n"),
            "s.yaml:2:55: steps[0].copy.owner: give owner: USER:GROUP or owner and group, not both");
  EXPECT_EQ(error_of("steps:\n  - {on: dcs-00, copy: {from: 'dcs-00:/x', to: 'dcs-01:/x'}, "
                     "expect: {stdout: {contains: x}}}\n"),
            "s.yaml:2:70: steps[0].expect: copy has no output to expect anything of");
  // node.* has no node to refer to when the source's node is the step's node.
  EXPECT_EQ(error_of("steps:\n  - copy: {from: '{{ node.name }}:/x', to: 'dcs-01:/x'}\n"),
            "s.yaml:2:19: steps[0].copy.from: without on, the source's node is the step's node: "
            "a node's name or vars.* templates, found \"node.name\" (or give on)");
  EXPECT_EQ(error_of("steps:\n  - {on: dcs-00, copy: {from: 'dcs-00:/{{ vars.x }}', to: 'dcs-01:/x'}}\n")
                .substr(0, 44),
            "s.yaml:2:40: steps[0].copy.from: unknown tem");
}

// The runner, on a fake lab: what was read where and written where.
class CopyRun : public FakeLabTest {
 protected:
  ScenarioResult run(const std::string& text) {
    Runner runner(*lab_, clock_, progress_, redactor_, {&console_}, {});
    return runner.run(parse(text));
  }

  // The destination's answer to the check after writing: mode, owner and SHA-256.
  void dest_holds(const std::string& node, const std::string& path, const std::string& content,
                  const std::string& mode_owner = "640 etcd:etcd") {
    script_.on("sha256sum -- " + path,
               {0, mode_owner + "\n" + sha256_hex(content) + "  " + path + "\n", ""}, node);
  }

  std::vector<FakeRequest> on_node(const std::string& node) {
    std::vector<FakeRequest> v;
    for (const auto& r : script_.requests())
      if (r.node == node) v.push_back(r);
    return v;
  }

};

TEST(CopySha256, KnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(CopyRun, ReadsOnTheSourceWritesOnTheDestination) {
  const std::string csr = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
  script_.on("stat -L -c", {0, "644 " + std::to_string(csr.size()) + " regular file\n", ""}, "dcs-01");
  script_.on("/etc/dcs/cert/dcs-01.csr", {0, csr, ""}, "dcs-01");  // the read (after stat's rule)
  dest_holds("dcs-00", "/etc/dcs/cert/dcs-01.csr", csr);
  const auto r = run(R"(steps:
  - name: CSR to the CA
    on: dcs-01
    copy:
      from: "{{ node.name }}:/etc/dcs/cert/{{ node.name }}.csr"
      to: dcs-00:/etc/dcs/cert/
      mode: "0640"
      owner: etcd:etcd
)");
  ASSERT_TRUE(r.passed) << console_out_.str();
  const auto src = on_node("dcs-01");
  ASSERT_EQ(src.size(), 2u);  // stat, then read
  EXPECT_EQ(src[0].kind, "exec");
  EXPECT_EQ(src[0].command,
            "out=$( { stat -L -c '%a %s %F' -- /etc/dcs/cert/dcs-01.csr; } 2>/dev/null ) && "
            "printf '%s\\n' \"$out\" || "
            "sudo -n sh -c 'stat -L -c '\\''%a %s %F'\\'' -- /etc/dcs/cert/dcs-01.csr'");
  EXPECT_EQ(src[1].kind, "get");
  EXPECT_EQ(src[1].command, "/etc/dcs/cert/dcs-01.csr");
  const auto dst = on_node("dcs-00");
  ASSERT_EQ(dst.size(), 2u);
  EXPECT_EQ(dst[0].kind, "put");
  EXPECT_EQ(dst[0].command, "/etc/dcs/cert/dcs-01.csr");  // a folder: the source's name in it
  EXPECT_EQ(dst[0].content, csr);
  EXPECT_EQ(dst[0].attrs.mode, 0640);
  EXPECT_EQ(dst[0].attrs.owner, "etcd");
  EXPECT_EQ(dst[0].attrs.group, "etcd");
  EXPECT_EQ(dst[1].kind, "exec");
  EXPECT_NE(dst[1].command.find("sha256sum -- /etc/dcs/cert/dcs-01.csr"), std::string::npos);
  // Both as the step's user.
  for (const auto& q : script_.requests()) EXPECT_EQ(q.user, "tux");

  const NodeResult& n = r.steps[0].nodes.at(0);
  EXPECT_EQ(r.steps[0].action, "copy");
  EXPECT_EQ(n.command, "copy dcs-01:/etc/dcs/cert/dcs-01.csr to dcs-00:/etc/dcs/cert/ (mode 0640, owner etcd:etcd)");
  EXPECT_EQ(n.out, "dcs-01:/etc/dcs/cert/dcs-01.csr -> dcs-00:/etc/dcs/cert/dcs-01.csr: " +
                       std::to_string(csr.size()) + " bytes, mode 0640, etcd:etcd, sha256 " +
                       sha256_hex(csr) + "\n");
  // What was copied is described, never shown.
  EXPECT_EQ(n.input, "");
  EXPECT_EQ(n.out.find("MIIB"), std::string::npos);
  EXPECT_EQ(console_out_.str().find("MIIB"), std::string::npos) << console_out_.str();
}

TEST_F(CopyRun, KeepsTheSourcesModeAndCopiesSeveralFilesToAFolder) {
  script_.on("%F' -- /etc/dcs/cert/ca.crt", {0, "640 3 regular file\n", ""}, "dcs-00");
  script_.on("%F' -- /etc/dcs/cert/dcs-01.crt", {0, "600 3 regular file\n", ""}, "dcs-00");
  dest_holds("dcs-01", "/etc/dcs/cert/ca.crt", "CA\n", "640 tux:tux");
  dest_holds("dcs-01", "/etc/dcs/cert/dcs-01.crt", "CR\n", "600 tux:tux");
  const auto r = run(R"(steps:
  - {on: dcs-00, put: {path: /etc/dcs/cert/ca.crt, content: "CA\n"}}
  - {on: dcs-00, put: {path: /etc/dcs/cert/dcs-01.crt, content: "CR\n"}}
  - copy:
      from: [dcs-00:/etc/dcs/cert/ca.crt, dcs-00:/etc/dcs/cert/dcs-01.crt]
      to: dcs-01:/etc/dcs/cert/
)");
  ASSERT_TRUE(r.passed) << console_out_.str();
  const auto puts = script_.requests_matching("/etc/dcs/cert/");
  std::vector<FakeRequest> written;
  for (const auto& q : puts)
    if (q.kind == "put" && q.node == "dcs-01") written.push_back(q);
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].command, "/etc/dcs/cert/ca.crt");
  EXPECT_EQ(written[0].content, "CA\n");
  EXPECT_EQ(written[0].attrs.mode, 0640);  // the source's
  EXPECT_EQ(written[0].attrs.owner, "");   // left as created
  EXPECT_EQ(written[1].command, "/etc/dcs/cert/dcs-01.crt");
  EXPECT_EQ(written[1].attrs.mode, 0600);
  EXPECT_EQ(r.steps[2].nodes.at(0).node, "dcs-00");  // without on: the source's node
  EXPECT_NE(r.steps[2].nodes[0].out.find("-> dcs-01:/etc/dcs/cert/dcs-01.crt: 3 bytes, mode 0600, tux:tux"),
            std::string::npos)
      << r.steps[2].nodes[0].out;
}

TEST_F(CopyRun, EachNodeOfTheStepCopiesItsOwnFileInParallel) {
  script_.on("stat -L -c", {0, "644 2 regular file\n", ""});
  dest_holds("dcs-00", "/tmp/in/dcs-01.ext", "1\n");
  dest_holds("dcs-00", "/tmp/in/dcs-02.ext", "2\n");
  script_.barrier("stat -L -c", 2);
  const auto r = run(R"(steps:
  - {on: dcs-01, put: {path: /tmp/dcs-01.ext, content: "1\n"}}
  - {on: dcs-02, put: {path: /tmp/dcs-02.ext, content: "2\n"}}
  - on: [dcs-01, dcs-02]
    copy: {from: "{{ node.name }}:/tmp/{{ node.name }}.ext", to: "dcs-00:/tmp/in/"}
)");
  ASSERT_TRUE(r.passed) << console_out_.str();
  std::map<std::string, std::string> landed;
  for (const auto& q : on_node("dcs-00"))
    if (q.kind == "put") landed[q.command] = q.content;
  EXPECT_EQ(landed, (std::map<std::string, std::string>{{"/tmp/in/dcs-01.ext", "1\n"},
                                                         {"/tmp/in/dcs-02.ext", "2\n"}}));
}

TEST_F(CopyRun, AMissingSourceFailsTheStepNamingNodeAndPath) {
  script_.on("stat -L -c",
             {1, "", "stat: cannot statx '/etc/dcs/cert/dcs-02.csr': No such file or directory\n"}, "dcs-02");
  script_.on("journalctl", {0, "", ""});
  script_.on("ip addr", {0, "", ""});
  const auto r = run("steps:\n  - copy: {from: 'dcs-02:/etc/dcs/cert/dcs-02.csr', to: 'dcs-00:/tmp/'}\n"
                     "  - {on: dcs-00, run: 'true'}\n");
  EXPECT_FALSE(r.passed);
  EXPECT_FALSE(r.infrastructure_failed);
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.steps[0].nodes[0].error,
            "copy: cannot read dcs-02:/etc/dcs/cert/dcs-02.csr: stat: cannot statx "
            "'/etc/dcs/cert/dcs-02.csr': No such file or directory");
  EXPECT_TRUE(script_.requests_matching("true").empty());
  for (const auto& q : script_.requests()) EXPECT_NE(q.kind, "put");
  EXPECT_NE(console_out_.str().find("dcs-02:/etc/dcs/cert/dcs-02.csr"), std::string::npos);
}

TEST_F(CopyRun, AFolderAsSourceFailsTheStep) {
  script_.on("stat -L -c", {0, "770 4096 directory\n", ""}, "dcs-00");
  script_.on("journalctl", {0, "", ""});
  script_.on("ip addr", {0, "", ""});
  const auto r = run("steps:\n  - copy: {from: 'dcs-00:/etc/dcs', to: 'dcs-02:/tmp/y'}\n");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.steps[0].nodes[0].error, "copy: dcs-00:/etc/dcs is a directory, not a file");
  for (const auto& q : script_.requests()) EXPECT_NE(q.kind, "get");
}

TEST_F(CopyRun, ADestinationThatDoesNotHoldTheSourcesBytesFailsTheStep) {
  script_.on("stat -L -c", {0, "644 2 regular file\n", ""}, "dcs-01");
  script_.on("sha256sum", {0, "644 tux:tux\n0000  /tmp/y\n", ""}, "dcs-02");
  script_.on("journalctl", {0, "", ""});
  script_.on("ip addr", {0, "", ""});
  const auto r = run(R"(steps:
  - {on: dcs-01, put: {path: /tmp/x, content: "x\n"}}
  - copy: {from: "dcs-01:/tmp/x", to: "dcs-02:/tmp/y"}
)");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.steps[1].nodes[0].error, "copy: dcs-02:/tmp/y holds SHA-256 0000 after the copy, not the source's " +
                                           sha256_hex("x\n"));
}

TEST_F(CopyRun, AnUnreachableNodeIsAnInfrastructureFailure) {
  lab_->unreachable.insert("dcs-02");
  const auto r = run("steps:\n  - copy: {from: 'dcs-00:/tmp/x', to: 'dcs-02:/tmp/'}\n");
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.infrastructure_failed);
  EXPECT_NE(r.steps[0].nodes[0].error.find("cannot connect to dcs-02 as tux"), std::string::npos)
      << r.steps[0].nodes[0].error;
}

TEST_F(CopyRun, ANodeFromACaptureThatIsNotTheLabsFailsTheStep) {
  script_.on("echo", {0, "dcs-07\n", ""});
  const auto r = run(R"(steps:
  - {on: dcs-00, run: echo dcs-07, capture: who}
  - on: dcs-00
    copy: {from: "dcs-00:/tmp/x", to: "{{ vars.who }}:/tmp/"}
)");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.steps[1].nodes[0].error,
            "copy.to: \"dcs-07\" (from {{ vars.who }}) is not a node of the lab (valid: dcs-00, dcs-01, dcs-02)");
}

// A private key copied is a secret from then on, in every report.
TEST_F(CopyRun, APrivateKeyIsRedactedInEveryReport) {
  const std::string key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKEYMATERIAL\n-----END PRIVATE KEY-----\n";
  script_.on("stat -L -c", {0, "600 10 regular file\n", ""}, "dcs-00");
  script_.on("/tmp/k", {0, key, ""}, "dcs-00");  // the read (after stat's rule)
  dest_holds("dcs-01", "/tmp/k", key, "600 tux:tux");
  script_.on("cat /tmp/k", {0, key, ""}, "dcs-01");
  const fs::path artifacts = home_ / "artifacts";
  ArtifactsReporter files(artifacts);
  Runner runner(*lab_, clock_, progress_, redactor_, {&console_, &files}, {});
  RunReport report;
  report.lab = "dcs";
  report.scenarios.push_back(runner.run(parse(R"(steps:
  - copy: {from: "dcs-00:/tmp/k", to: "dcs-01:/tmp/k"}
  - {on: dcs-01, run: cat /tmp/k}
)")));
  ASSERT_TRUE(report.scenarios[0].passed) << console_out_.str();
  EXPECT_EQ(report.scenarios[0].steps[1].nodes[0].out, "********");
  EXPECT_EQ(script_.requests_matching("cat /tmp/k").at(0).node, "dcs-01");
  std::vector<std::pair<std::string, std::string>> outputs = {
      {"console", console_out_.str()}, {"junit", junit_xml(report)},
      {"json", json_report(report)}, {"transcript", transcript_markdown(report)}};
  for (const auto& e : fs::recursive_directory_iterator(artifacts))
    if (e.is_regular_file()) {
      std::ifstream in(e.path());
      std::stringstream s;
      s << in.rdbuf();
      outputs.emplace_back(e.path().string(), s.str());
    }
  for (const auto& [name, text] : outputs)
    EXPECT_EQ(text.find("KEYMATERIAL"), std::string::npos) << name << ":\n" << text;
  EXPECT_NE(transcript_markdown(report).find("sha256 " + sha256_hex(key)), std::string::npos);
}

}  // namespace
}  // namespace dcslab
