#include "run/runner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <signal.h>

#include <fstream>
#include <set>
#include <sstream>

#include "base/interrupt.h"
#include "testing/fake_lab.h"
#include "testing/fake_lab_fixture.h"
#include "report/report_console.h"
#include "report/report_files.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

class RunnerTest : public FakeLabTest {
 protected:

  ScenarioResult run(const std::string& text, RunnerOptions options = {}) {
    Runner runner(*lab_, clock_, progress_, redactor_, {&console_}, options);
    return runner.run(parse(text));
  }

};

TEST_F(RunnerTest, RunsAStepAndChecksItsOutput) {
  script_.on("hostname -f", {0, "dcs-01.patroni.mydomain\n", ""}, "dcs-01");
  const auto r = run("steps:\n  - {name: fqdn, on: dcs-01, run: hostname -f, "
                     "expect: {stdout: {equals: '{{ node.fqdn }}'}}}\n");
  EXPECT_TRUE(r.passed);
  ASSERT_EQ(r.steps.size(), 1u);
  const auto& n = r.steps[0].nodes.at(0);
  EXPECT_EQ(n.node, "dcs-01");
  EXPECT_EQ(n.user, "tux");
  EXPECT_EQ(n.exit_status, 0);
  EXPECT_EQ(n.attempts, 1);
  const auto reqs = script_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].node, "dcs-01");
  EXPECT_EQ(reqs[0].user, "tux");
  EXPECT_EQ(reqs[0].command, "hostname -f");
  EXPECT_EQ(lab_->state().get("passed:t"), r.started_at);
  EXPECT_NE(console_out_.str().find("\u2713 [1] fqdn  dcs-01"), std::string::npos) << console_out_.str();
}

TEST_F(RunnerTest, UntilRepeatsOnTheClockWithoutSleeping) {
  script_.on_sequence("etcdctl endpoint health",
                      {{1, "", "unhealthy\n"}, {1, "", "unhealthy\n"}, {0, "healthy\n", ""}});
  const auto wall = std::chrono::steady_clock::now();
  const auto r = run("steps:\n  - on: dcs-00\n    run: etcdctl endpoint health\n"
                     "    until: {interval: 5s, timeout: 2m}\n    expect: {stdout: {contains: healthy}}\n");
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.steps[0].nodes[0].attempts, 3);
  EXPECT_EQ(clock_.sleeps, 2);
  EXPECT_EQ(r.steps[0].nodes[0].seconds, 10.0);  // two 5 s intervals, on the fake clock
  EXPECT_LT(std::chrono::steady_clock::now() - wall, std::chrono::seconds(1));
}

TEST_F(RunnerTest, UntilGivesUpAtItsTimeout) {
  script_.on("false", {1, "", "no\n"});
  const auto r = run("steps:\n  - {on: dcs-00, run: 'false', until: {interval: 1s, timeout: 5s}}\n");
  EXPECT_FALSE(r.passed);
  const auto& n = r.steps[0].nodes[0];
  EXPECT_EQ(n.attempts, 6);  // at 0, 1, 2, 3, 4 and 5 s
  EXPECT_EQ(clock_.sleeps, 5);
  EXPECT_EQ(n.failures.back(), "until: still failing after 6 attempts in 5s");
}

TEST_F(RunnerTest, PromptsEnvStdinAndTimeoutReachTheTransport) {
  script_.on("etcdctl user add root", {0, "User root created\n", ""});
  const auto r = run(R"(secrets: {root_password: {generate: 20}}
steps:
  - on: dcs-00
    run: etcdctl user add root
    env: {ETCDCTL_API: "3", ETCD_IP: "{{ node.ip }}"}
    stdin: "hello {{ node.name }}"
    timeout: 45s
    prompts:
      - {expect: "Password of root: ", answer: "{{ secrets.root_password }}"}
      - {expect: "Type password of root again for confirmation: ", answer: "{{ secrets.root_password }}"}
)");
  EXPECT_TRUE(r.passed);
  const auto req = script_.requests().at(0);
  const std::string pw = LabState(home_, "dcs").get("x", "");  // (facts untouched)
  ASSERT_EQ(req.options.prompts.size(), 2u);
  EXPECT_EQ(req.options.prompts[0].expect, "Password of root: ");
  EXPECT_EQ(req.options.prompts[0].answer.size(), 20u);
  EXPECT_EQ(req.options.prompts[1].answer, req.options.prompts[0].answer);
  EXPECT_TRUE(req.options.pty);
  EXPECT_EQ(req.options.stdin_data, "hello dcs-00");
  EXPECT_EQ(req.options.timeout, std::chrono::seconds(45));
  ASSERT_EQ(req.options.env.size(), 2u);
  EXPECT_EQ(req.options.env[1], (std::pair<std::string, std::string>{"ETCD_IP", "192.168.56.10"}));
  // Generated once per lab, kept 0600 in the lab's state folder, and the same next time.
  const fs::path stored = home_ / "labs/dcs/secrets/root_password";
  ASSERT_TRUE(fs::exists(stored));
  struct stat st {};
  ASSERT_EQ(::stat(stored.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(stored);
  std::string value;
  std::getline(in, value);
  EXPECT_EQ(value, req.options.prompts[0].answer);
  run("secrets: {root_password: {generate: 20}}\nsteps:\n  - {on: dcs-00, run: etcdctl user add root, "
      "prompts: [{expect: 'P: ', answer: '{{ secrets.root_password }}'}]}\n");
  EXPECT_EQ(script_.requests().at(1).options.prompts[0].answer, value);
}

TEST_F(RunnerTest, AllNodesRunInParallelEachWithItsOwnTransport) {
  script_.on("hostname -f", {0, "x\n", ""});
  script_.barrier("hostname -f", 3);  // each call waits for the other two
  const auto r = run("steps:\n  - {on: all, run: hostname -f}\n");
  EXPECT_TRUE(r.passed) << console_out_.str();
  const auto reqs = script_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  std::set<std::string> nodes;
  std::set<std::thread::id> threads;
  for (const auto& q : reqs) nodes.insert(q.node), threads.insert(q.thread);
  EXPECT_EQ(nodes, (std::set<std::string>{"dcs-00", "dcs-01", "dcs-02"}));
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(lab_->connects.size(), 3u);
  ASSERT_EQ(r.steps[0].nodes.size(), 3u);
  EXPECT_EQ(r.steps[0].nodes[2].node, "dcs-02");  // results in the lab's order
}

TEST_F(RunnerTest, PutThenGetWithAttributes) {
  const auto r = run(R"(steps:
  - on: dcs-01
    put: {path: /etc/dcs/etcd, content: "ETCD_NAME='{{ node.name }}'\n", owner: etcd, group: etcd, mode: "0640"}
  - on: dcs-01
    get: {path: /etc/dcs/etcd, equals: "ETCD_NAME='dcs-01'"}
  - on: dcs-01
    get: /etc/dcs/etcd
    expect: {stdout: {not_contains: dcs-00}}
)");
  EXPECT_TRUE(r.passed) << console_out_.str();
  const auto reqs = script_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].kind, "put");
  EXPECT_EQ(reqs[0].command, "/etc/dcs/etcd");
  EXPECT_EQ(reqs[0].content, "ETCD_NAME='dcs-01'\n");
  EXPECT_EQ(reqs[0].attrs.mode, 0640);
  EXPECT_EQ(reqs[0].attrs.owner, "etcd");
  EXPECT_EQ(reqs[0].attrs.group, "etcd");
  EXPECT_EQ(reqs[1].kind, "get");
  EXPECT_EQ(r.steps[0].nodes[0].command, "put /etc/dcs/etcd (mode 0640, owner etcd, group etcd)");
  EXPECT_EQ(r.steps[1].nodes[0].out, "ETCD_NAME='dcs-01'\n");
}

TEST_F(RunnerTest, WaitForPortAndUnitPollOnTheNode) {
  script_.on_sequence("/dev/tcp", {{1, "", "refused\n"}, {0, "", ""}});
  script_.on_sequence("systemctl is-active", {{3, "activating\n", ""}, {0, "active\n", ""}});
  const auto r = run("steps:\n  - {on: dcs-02, wait_for_port: {port: 4433, timeout: 30s}}\n"
                     "  - {on: dcs-02, wait_for_unit: etcd}\n");
  EXPECT_TRUE(r.passed) << console_out_.str();
  const auto reqs = script_.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].command, "timeout 3 bash -c 'exec 3<>/dev/tcp/$0/$1' 127.0.0.1 4433");
  EXPECT_EQ(reqs[2].command, "systemctl is-active etcd");
  EXPECT_EQ(r.steps[0].nodes[0].attempts, 2);
  EXPECT_EQ(clock_.sleeps, 2);
}

// A node that does not answer the first diagnostic command is not asked the second:
// after a failure that left it unreachable, each would wait out its 20 s.
TEST_F(RunnerTest, DiagnosticsStopAtTheFirstCommandTheNodeDoesNotAnswer) {
  script_.on("echo", {0, "etcd is not installed\n", ""});
  script_.fail("journalctl -u etcd", Failure::timeout("`sudo -n journalctl` on dcs-00 did not finish within 20 s"));
  script_.on("ip addr", {0, "2: enp1s0: inet 192.168.56.10/24\n", ""});
  const auto r = run("steps:\n  - {on: dcs-00, run: echo, expect: {stdout: {contains: running}}}\n");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(script_.requests_matching("journalctl -u etcd").size(), 1u);
  EXPECT_TRUE(script_.requests_matching("ip addr").empty());
  const auto& d = r.steps[0].nodes[0].diagnostics;
  ASSERT_GE(d.size(), 2u);
  EXPECT_EQ(d[0].second, "(not collected: `sudo -n journalctl` on dcs-00 did not finish within 20 s)\n");
  EXPECT_EQ(d[1].first, "ip-addr.txt");
  EXPECT_EQ(d[1].second, d[0].second);
}

TEST_F(RunnerTest, RebootAndReloginGoThroughLabControl) {
  script_.on("id -nG", {0, "tux etcd\n", ""});
  const auto r = run("steps:\n  - {on: dcs-00, run: id -nG}\n  - {on: dcs-00, relogin: true}\n"
                     "  - {on: dcs-00, run: id -nG}\n  - {on: dcs-00, reboot: true}\n"
                     "  - {on: dcs-00, run: id -nG}\n");
  EXPECT_TRUE(r.passed);
  // Sessions opened: the first; relogin's fresh one, which the next run reuses; one
  // after the reboot dropped it.
  EXPECT_EQ(lab_->connects,
            (std::vector<std::string>{"dcs-00/tux", "dcs-00/tux", "dcs-00/tux"}));
  EXPECT_EQ(r.steps[1].nodes[0].command, "relogin as tux (a fresh SSH session)");
  EXPECT_EQ(lab_->reboots, std::vector<std::string>{"dcs-00"});
}

TEST_F(RunnerTest, StopsAtTheFirstFailureAndCollectsDiagnostics) {
  script_.on("echo", {0, "etcd is not installed\n", ""});
  script_.on("journalctl -u etcd", {0, "-- No entries --\n", ""});
  script_.on("ip addr", {0, "2: enp1s0: inet 192.168.56.10/24\n", ""});
  script_.on("journalctl -b", {0, "Dec 06 20:16:42.198 dcs-00 patroni[2690]: ERROR: failed to update leader lock\n", ""});
  fs::create_directories(lab_->console_log("dcs-00").parent_path());
  std::ofstream(lab_->console_log("dcs-00")) << "dcs-00 login:\n";
  const std::string text =
      "steps:\n  - {name: first, on: dcs-00, run: echo, expect: {stdout: {contains: 'etcd is running'}}}\n"
      "  - {name: second, on: dcs-00, run: echo}\n";
  const auto r = run(text);
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.not_run, std::vector<std::string>{"second"});
  const auto& n = r.steps[0].nodes[0];
  EXPECT_EQ(n.failures, std::vector<std::string>{"stdout: expected to contain \"etcd is running\""});
  ASSERT_EQ(n.diagnostics.size(), 4u);
  EXPECT_EQ(n.diagnostics[0].first, "journalctl-etcd.txt");
  EXPECT_NE(n.diagnostics[0].second.find("No entries"), std::string::npos);
  EXPECT_NE(n.diagnostics[1].second.find("192.168.56.10/24"), std::string::npos);
  EXPECT_EQ(n.diagnostics[2].first, "journalctl.txt");
  EXPECT_NE(n.diagnostics[2].second.find("failed to update leader lock"), std::string::npos);
  EXPECT_EQ(n.diagnostics[3].second, "dcs-00 login:\n");
  EXPECT_TRUE(lab_->state().get("passed:t").empty());
  const std::string out = console_out_.str();
  EXPECT_NE(out.find("\u2717 [1] first  dcs-00"), std::string::npos) << out;
  EXPECT_NE(out.find("command  | echo"), std::string::npos) << out;
  EXPECT_NE(out.find("failed   | stdout: expected to contain \"etcd is running\""), std::string::npos);
  EXPECT_NE(out.find("stdout   | etcd is not installed"), std::string::npos) << out;
  EXPECT_NE(out.find("stderr   | (empty)"), std::string::npos);
  EXPECT_NE(out.find("lab kept for inspection: dcslab ssh dcs-00"), std::string::npos);

  RunnerOptions keep;
  keep.keep_going = true;
  const auto k = run(text, keep);
  EXPECT_FALSE(k.passed);
  EXPECT_EQ(k.steps.size(), 2u);
  EXPECT_TRUE(k.not_run.empty());
}

TEST_F(RunnerTest, UnreachableNodeIsAnInfrastructureFailure) {
  lab_->unreachable.insert("dcs-01");
  const auto r = run("steps:\n  - {on: all, run: 'true'}\n  - {on: dcs-00, run: 'true'}\n",
                     RunnerOptions{true, true});
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.infrastructure_failed);
  EXPECT_EQ(r.steps.size(), 1u);  // even with keep_going: the nodes cannot be reached
  EXPECT_NE(r.steps[0].nodes[1].error.find("cannot connect to dcs-01 as tux"), std::string::npos);
}

// A secret that comes back in what a node prints never reaches any report.
TEST_F(RunnerTest, SecretsNeverReachAnyReport) {
  setenv("DCSLAB_TEST_TOKEN", "tok-3f9a1c77e2", 1);
  script_.on("echo", {0, "got tok-3f9a1c77e2 ok\n", "stderr tok-3f9a1c77e2\n"});
  script_.on("journalctl", {0, "etcd: password tok-3f9a1c77e2\n", ""});
  script_.on("ip addr", {0, "", ""});
  const fs::path artifacts = home_ / "artifacts";
  ArtifactsReporter files(artifacts);
  Runner runner(*lab_, clock_, progress_, redactor_, {&console_, &files}, {});
  const Scenario sc = parse(R"(secrets: {token: {env: DCSLAB_TEST_TOKEN}}
steps:
  - name: "use {{ secrets.token }}"
    on: dcs-00
    run: echo {{ secrets.token }}
    env: {TOKEN: "{{ secrets.token }}"}
    expect: {stdout: {contains: "{{ secrets.token }}", equals: "wrong {{ secrets.token }}"}}
)");
  RunReport report;
  report.lab = "dcs";
  report.scenarios.push_back(runner.run(sc));
  ASSERT_FALSE(report.scenarios[0].passed);
  // The command really ran with the secret in it...
  EXPECT_EQ(script_.requests().at(0).command, "echo tok-3f9a1c77e2");
  // ...and the secret is in no report.
  std::vector<std::pair<std::string, std::string>> outputs = {
      {"console", console_out_.str()},
      {"junit", junit_xml(report)},
      {"json", json_report(report)},
      {"transcript", transcript_markdown(report)}};
  for (const auto& e : fs::recursive_directory_iterator(artifacts))
    if (e.is_regular_file()) {
      std::ifstream in(e.path());
      std::stringstream s;
      s << in.rdbuf();
      outputs.emplace_back(e.path().string(), s.str());
    }
  EXPECT_GE(outputs.size(), 10u);
  for (const auto& [name, text] : outputs) {
    EXPECT_EQ(text.find("tok-3f9a1c77e2"), std::string::npos) << name << ":\n" << text;
  }
  EXPECT_NE(console_out_.str().find("echo ********"), std::string::npos);
  EXPECT_NE(json_report(report).find("got ******** ok"), std::string::npos);
  unsetenv("DCSLAB_TEST_TOKEN");
}

// Issue 19: a step printing one 3 MB line, matched with ^(a|b)+$, killed dcslab. Here
// through the runner: the output capped at the step's output_limit (the fake transport
// caps as SshTransport does), the matcher sees the kept part, every report says how many
// bytes were dropped.
TEST_F(RunnerTest, OutputPastTheLimitIsCountedDroppedAndReported) {
  std::string line(3 * 1024 * 1024, 'a');
  for (std::size_t i = 0; i < line.size(); i += 5) line[i] = 'b';
  script_.on("print-a-lot", {0, line + "c\n", std::string(5000, 'e')});
  const auto sc = parse(R"(steps:
  - name: big
    on: dcs-00
    run: print-a-lot
    output_limit: 1MiB
    expect: {stdout: {matches: '^(a|b)+$'}}
  - name: default limit
    on: dcs-00
    run: print-a-lot
    expect: {stdout: {not_matches: '^(a|b)+$'}}
)");
  ASSERT_EQ(sc.steps[0].output_limit, 1u << 20);
  ASSERT_EQ(sc.steps[1].output_limit, kDefaultOutputLimit);
  Runner runner(*lab_, clock_, progress_, redactor_, {&console_}, {});
  RunReport report;
  report.lab = "dcs";
  report.scenarios.push_back(runner.run(sc));
  const auto& r = report.scenarios[0];
  ASSERT_EQ(r.steps.size(), 2u);
  // Kept: the first MiB, all a and b, so the match holds (the "c" was past the cap).
  const auto& capped = r.steps[0].nodes.at(0);
  EXPECT_TRUE(capped.passed) << (capped.failures.empty() ? "" : capped.failures[0]);
  EXPECT_EQ(capped.out.size(), 1u << 20);
  EXPECT_EQ(capped.out_dropped, line.size() + 2 - (1u << 20));
  EXPECT_EQ(capped.err.size(), 5000u);
  EXPECT_EQ(capped.err_dropped, 0u);
  EXPECT_EQ(script_.requests().at(0).options.output_limit, 1u << 20);
  // Under the default 16 MiB all of it is kept, "c" included.
  const auto& whole = r.steps[1].nodes.at(0);
  EXPECT_TRUE(whole.passed);
  EXPECT_EQ(whole.out.size(), line.size() + 2);
  EXPECT_EQ(whole.out_dropped, 0u);
  const std::string note =
      "stdout: " + std::to_string(capped.out_dropped) + " bytes past the output limit dropped";
  EXPECT_NE(console_out_.str().find("output   | " + note), std::string::npos);
  EXPECT_NE(transcript_markdown(report).find(note), std::string::npos);
  const auto json = nlohmann::json::parse(json_report(report));
  const auto& nj = json["scenarios"][0]["steps"][0]["nodes"][0];
  EXPECT_EQ(nj["stdout_dropped"].get<std::uint64_t>(), capped.out_dropped);
  EXPECT_EQ(nj["stderr_dropped"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(nj["stdout"].get<std::string>().size(), 1u << 20);
  EXPECT_NE(junit_xml(report).find("[dcslab: " + std::to_string(capped.out_dropped) +
                                   " bytes past the output limit dropped]"),
            std::string::npos);
}

// Issue 19: a run stopped by SIGTERM (a CI job's timeout) or Ctrl-C still writes its
// reports. The real handler (base/interrupt), a real signal raised while the second step
// runs on the node; the JUnit read back with pugixml, the JSON with nlohmann.
TEST_F(RunnerTest, SigtermMidStepStopsTheStepAndTheReportsSaySo) {
  install_interrupt_handlers();
  g_interrupted = false;
  script_.on("echo one", {0, "one\n", ""});
  script_.hang("sleep 3600", [] { ::raise(SIGTERM); });
  const auto sc = parse(R"(name: stopped
steps:
  - {name: first, on: dcs-00, run: echo one}
  - {name: forever, on: dcs-01, run: sleep 3600}
  - {name: never, on: dcs-02, run: echo three}
)");
  Runner runner(*lab_, clock_, progress_, redactor_, {&console_}, {});
  RunReport report;
  report.lab = "dcs";
  const auto wall = std::chrono::steady_clock::now();
  report.scenarios.push_back(runner.run(sc));
  const bool interrupted = g_interrupted.exchange(false);
  EXPECT_TRUE(interrupted);
  EXPECT_LT(std::chrono::steady_clock::now() - wall, std::chrono::seconds(5));
  const auto& r = report.scenarios[0];
  EXPECT_TRUE(r.interrupted);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(report.infrastructure_failed());  // dcslab run exits 3
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_TRUE(r.steps[0].passed);
  EXPECT_FALSE(r.steps[1].passed);
  EXPECT_EQ(r.not_run, std::vector<std::string>{"never"});
  EXPECT_TRUE(script_.requests_matching("echo three").empty());
  // Stopped, not failed: no diagnostics are collected (each may wait 20 s for a node).
  EXPECT_TRUE(script_.requests_matching("journalctl -u etcd").empty());
  EXPECT_TRUE(script_.requests_matching("ip addr").empty());
  EXPECT_TRUE(r.steps[1].nodes[0].diagnostics.empty());

  pugi::xml_document doc;
  const std::string xml = junit_xml(report);
  ASSERT_TRUE(doc.load_string(xml.c_str())) << xml;
  const auto suite = doc.child("testsuites").child("testsuite");
  EXPECT_STREQ(suite.attribute("name").value(), "stopped");
  EXPECT_EQ(suite.attribute("tests").as_int(), 3);
  EXPECT_EQ(suite.attribute("errors").as_int(), 1);
  EXPECT_EQ(suite.attribute("skipped").as_int(), 1);
  std::vector<pugi::xml_node> cases;
  for (auto tc : suite.children("testcase")) cases.push_back(tc);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_FALSE(cases[0].child("error") || cases[0].child("failure") || cases[0].child("skipped"));
  const auto error = cases[1].child("error");
  ASSERT_TRUE(error) << xml;
  EXPECT_NE(std::string(error.attribute("message").value()).find("`sleep 3600` on dcs-01 interrupted"),
            std::string::npos) << error.attribute("message").value();
  EXPECT_TRUE(cases[2].child("skipped"));
  EXPECT_STREQ(cases[2].attribute("name").value(), "never");

  const auto json = nlohmann::json::parse(json_report(report));
  const auto& js = json["scenarios"][0];
  EXPECT_TRUE(js["interrupted"].get<bool>());
  EXPECT_FALSE(js["passed"].get<bool>());
  EXPECT_EQ(js["steps"].size(), 2u);
  EXPECT_NE(js["steps"][1]["nodes"][0]["error"].get<std::string>().find("interrupted"),
            std::string::npos);
  EXPECT_NE(js["error"].get<std::string>().find("interrupted (SIGINT or SIGTERM) after step 2"),
            std::string::npos) << js.dump();
  EXPECT_NE(transcript_markdown(report).find("never — _not run_"), std::string::npos);
  // The handler stays installed for the rest of the test binary: harmless, it only sets
  // the flag; put the default back so a stray SIGTERM still ends the tests.
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
}

// An exception escaping a step (dcslab's own error) is that step's error in the reports;
// the rest is not run and the run exits 3, instead of the process dying without reports.
TEST_F(RunnerTest, AnExceptionInAStepIsAnErroredStepNotACrash) {
  script_.hang("explode", [] { throw std::runtime_error("boom in the transport"); });
  const auto r = run("steps:\n  - {name: bad, on: dcs-00, run: explode}\n"
                     "  - {name: after, on: dcs-00, run: 'true'}\n");
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.infrastructure_failed);
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_NE(r.steps[0].nodes[0].error.find("boom in the transport"), std::string::npos);
  EXPECT_EQ(r.not_run, std::vector<std::string>{"after"});
}

TEST_F(RunnerTest, MissingEnvSecretIsBadInput) {
  unsetenv("DCSLAB_TEST_UNSET");
  EXPECT_THROW(run("secrets: {t: {env: DCSLAB_TEST_UNSET}}\nsteps:\n  - {on: dcs-00, run: x}\n"),
               BadInput);
  EXPECT_TRUE(script_.requests().empty());
}

}  // namespace
}  // namespace dcslab
