#include "base/process.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

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
  auto r = run_process({"bash", "-c", "ls /proc/$$/fd | sort -n | tr '\\n' ' '"});
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

}  // namespace
}  // namespace dcslab
