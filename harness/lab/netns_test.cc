#include "lab/netns.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/process.h"

namespace dcslab {
namespace {

Lab lab_with_host(const std::string& host) {
  Lab lab = parse_lab("name: t\nnetwork:\n  cidr: 10.250.0.0/24\n  host: " + host +
                          "\n  domain: t.test\nnodes:\n  - name: a\n    ip: 10.250.0.2\n",
                      "t.yaml");
  return lab;
}

// Runs `body` in a forked child (setns moves the whole test thread otherwise) and returns
// its exit status.
template <typename F>
int in_child(F body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

TEST(Netns, CreateEnterCheckDelete) {
  if (geteuid() != 0) GTEST_SKIP() << "creating network namespaces needs root (ip netns add)";
  const std::string name = "dcslab-unit-" + std::to_string(getpid());
  ASSERT_TRUE(netns_create(name).ok());
  // Removed even when an assertion below fails.
  struct Cleanup {
    std::string name;
    ~Cleanup() { (void)netns_delete(name); }
  } cleanup{name};
  EXPECT_TRUE(netns_exists(name));
  EXPECT_FALSE(netns_create(name).ok()) << "a second create must be refused";
  // An interface (a bridge, as a lab network is) holding the lab's host address, inside the namespace only.
  ASSERT_TRUE(run_checked({"ip", "-n", name, "link", "add", "d0", "type", "bridge"}).ok());
  ASSERT_TRUE(run_checked({"ip", "-n", name, "addr", "add", "10.250.0.1/24", "dev", "d0"}).ok());
  const Lab lab = lab_with_host("10.250.0.1");
  EXPECT_FALSE(lab_network_is_local(lab)) << "the host namespace must not hold the lab address";
  EXPECT_EQ(in_child([&] {
              if (!netns_enter(name).ok()) return 2;
              return lab_network_is_local(lab) ? 0 : 1;
            }),
            0);
  EXPECT_EQ(in_child([&] {
              if (!netns_enter(name).ok()) return 2;
              return lab_network_is_local(lab_with_host("10.250.0.3")) ? 1 : 0;
            }),
            0);
  ASSERT_TRUE(netns_delete(name).ok());
  EXPECT_FALSE(netns_exists(name));
  EXPECT_TRUE(netns_delete(name).ok()) << "deleting a missing namespace is not an error";
  EXPECT_EQ(netns_enter(name).error().kind, Failure::Kind::NotFound);
}

TEST(Process, RunsArgvWithoutAShell) {
  auto r = run_process({"printf", "%s|", "a b", "$HOME"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output, "a b|$HOME|");
  auto bad = run_checked({"sh", "-c", "echo oops; exit 4"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("exit 4"), std::string::npos);
  EXPECT_NE(bad.error().message.find("oops"), std::string::npos);
  EXPECT_EQ(run_process({"/nonexistent/prog"}).error().kind, Failure::Kind::NotFound);
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("plain-1.2"), "plain-1.2");
}

}  // namespace
}  // namespace dcslab
