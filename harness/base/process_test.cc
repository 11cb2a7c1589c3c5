#include "base/process.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <csignal>

namespace dcslab {
namespace {

// A descriptor dcslab (or whatever started it) holds open without O_CLOEXEC does not
// reach a child: the child's first free descriptor is 3, as a fresh shell expects.
TEST(RunProcess, TheChildInheritsNoDescriptorButItsStandardOnes) {
  const int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC, on purpose
  ASSERT_GE(leaked, 0);
  const int high = ::dup2(leaked, 11);
  ASSERT_EQ(high, 11);
  // bash's builtins only: a pipeline (ls | sort) has bash itself hold the pipes' ends
  // while ls reads its descriptors, which CI once saw as "0 1 2 3 4 5".
  auto r = run_process({"bash", "-c",
                        "for fd in {0..1023}; do [[ -L /proc/$$/fd/$fd ]] && printf '%s ' $fd; done; true"});
  ::close(leaked);
  ::close(high);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->output, "0 1 2 ") << "bash's descriptors";
}

TEST(ProcStatFields, StateParentAndStartTime) {
  const auto self = proc_stat_fields(::getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ((*self)[0], "R");  // reading its own stat, it runs
  EXPECT_EQ((*self)[1], std::to_string(::getppid()));
  EXPECT_FALSE((*self)[19].empty());
  EXPECT_EQ(proc_stat_fields(::getpid())->at(19), (*self)[19]);  // the same process, the same start
}

TEST(ProcStatFields, AZombieSaysZAndNoProcessIsNothing) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  // WNOWAIT waits for the exit but leaves the child unreaped: a zombie until waitpid.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  const auto zombie = proc_stat_fields(child);
  ASSERT_TRUE(zombie);
  EXPECT_EQ((*zombie)[0], "Z");
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(proc_stat_fields(child));
  EXPECT_FALSE(proc_stat_fields(INT_MAX));  // above any pid_max
}

TEST(ProcessId, AliveUntilItExitsAndNotAZombie) {
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(go[1]);
    char c;
    [[maybe_unused]] auto n = ::read(go[0], &c, 1);  // until the parent closes its end
    ::_exit(0);
  }
  ::close(go[0]);
  const auto id = process_id(child);
  ASSERT_TRUE(id);
  EXPECT_TRUE(process_alive(*id));
  // The same pid with another start time is another process: not this one.
  EXPECT_FALSE(process_alive({child, id->start_ticks + 1}));
  // Its namespaces are ours, and it is among the processes of our pid namespace.
  const std::string ns = process_namespace(::getpid(), "pid");
  EXPECT_EQ(ns.rfind("pid:[", 0), 0u) << ns;
  EXPECT_EQ(process_namespace(child, "pid"), ns);
  const auto in_ns = processes_in_namespace("pid", ns);
  EXPECT_NE(std::find(in_ns.begin(), in_ns.end(), child), in_ns.end());
  const auto kids = process_descendants(::getpid());
  EXPECT_NE(std::find(kids.begin(), kids.end(), child), kids.end());
  EXPECT_FALSE(process_name(child).empty());
  ::close(go[1]);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_FALSE(process_alive(*id));  // a zombie has exited
  const auto in_ns_after = processes_in_namespace("pid", ns);
  EXPECT_EQ(std::find(in_ns_after.begin(), in_ns_after.end(), child), in_ns_after.end());
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(process_alive(*id));
  EXPECT_EQ(process_namespace(child, "pid"), "");
  EXPECT_TRUE(processes_in_namespace("pid", "").empty());
}

}  // namespace
}  // namespace dcslab
