#include "base/file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/fd.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dcslab-file-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static unsigned mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  // The names in the folder, so a test can see that no temporary file stayed behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

TEST_F(FileTest, ReadsWhatWasWrittenByteForByte) {
  const std::string bytes("line\n\0\xff tail", 12);
  ASSERT_TRUE(write_file(dir_ / "f", bytes).ok());
  auto r = read_file(dir_ / "f");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, bytes);
  // Larger than one read(2) buffer.
  const std::string big(200000, 'x');
  ASSERT_TRUE(write_file(dir_ / "big", big).ok());
  EXPECT_EQ(read_file(dir_ / "big").value(), big);
}

TEST_F(FileTest, ReadsProcFilesThatReportSizeZero) {
  auto r = read_file("/proc/self/stat");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rfind(std::to_string(::getpid()) + " (", 0), 0u) << *r;
}

TEST_F(FileTest, ReadFailuresSayWhichFileAndWhy) {
  auto missing = read_file(dir_ / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, Failure::Kind::NotFound);
  EXPECT_EQ(missing.error().message, "cannot read " + (dir_ / "nope").string() +
                                         ": No such file or directory");
  auto folder = read_file(dir_);
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error().kind, Failure::Kind::Error);
  EXPECT_NE(folder.error().message.find("Is a directory"), std::string::npos) << folder.error().message;
}

TEST_F(FileTest, ReadFromAnOffsetTakesWhatCameAfterItUpToALimit) {
  ASSERT_TRUE(write_file(dir_ / "log", "old boot\nnew boot\n").ok());
  EXPECT_EQ(read_file_from(dir_ / "log", 9, 1 << 20).value(), "new boot\n");
  EXPECT_EQ(read_file_from(dir_ / "log", 18, 1 << 20).value(), "");
  // Only the last max_bytes of what follows the offset.
  EXPECT_EQ(read_file_from(dir_ / "log", 0, 5).value(), "boot\n");
  // A file now shorter than the offset was replaced: read from its start.
  ASSERT_TRUE(write_file(dir_ / "log", "short\n").ok());
  EXPECT_EQ(read_file_from(dir_ / "log", 18, 1 << 20).value(), "short\n");
  auto missing = read_file_from(dir_ / "nope", 0, 10);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, Failure::Kind::NotFound);
}

TEST_F(FileTest, WriteTruncatesAndSetsTheModeAskedFor) {
  const mode_t old = ::umask(022);
  ASSERT_TRUE(write_file(dir_ / "f", "a longer first text").ok());
  EXPECT_EQ(mode_of(dir_ / "f"), 0644u);  // 0666 less the umask
  ASSERT_TRUE(write_file(dir_ / "f", "short", 0600).ok());
  EXPECT_EQ(read_file(dir_ / "f").value(), "short");
  EXPECT_EQ(mode_of(dir_ / "f"), 0600u);
  ::umask(077);
  ASSERT_TRUE(write_file(dir_ / "g", "x", 0644).ok());
  EXPECT_EQ(mode_of(dir_ / "g"), 0644u);  // exact, not narrowed by the umask
  ::umask(old);
  auto r = write_file(dir_ / "no-such-folder" / "f", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no-such-folder/f"), std::string::npos) << r.error().message;
}

TEST_F(FileTest, AtomicWriteReplacesWithTheExactModeAndLeavesNothingElse) {
  const mode_t old = ::umask(077);
  ASSERT_TRUE(write_file(dir_ / "key", "old").ok());
  ASSERT_TRUE(write_file_atomic(dir_ / "key", "new content", 0644).ok());
  ::umask(old);
  EXPECT_EQ(read_file(dir_ / "key").value(), "new content");
  EXPECT_EQ(mode_of(dir_ / "key"), 0644u);
  ASSERT_TRUE(write_file_atomic(dir_ / "secret", "k", 0600).ok());
  EXPECT_EQ(mode_of(dir_ / "secret"), 0600u);
  EXPECT_EQ(entries(), (std::vector<std::string>{"key", "secret"}));
}

TEST_F(FileTest, AtomicWriteThatFailsKeepsTheOldFileAndNoTemporary) {
  // A folder where the file should be: the rename fails, and what was there stays.
  fs::create_directory(dir_ / "taken");
  auto r = write_file_atomic(dir_ / "taken", "x", 0644);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot replace " + (dir_ / "taken").string()), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(fs::is_directory(dir_ / "taken"));
  EXPECT_EQ(entries(), (std::vector<std::string>{"taken"}));
  auto missing = write_file_atomic(dir_ / "none" / "f", "x", 0644);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, Failure::Kind::NotFound);
}

TEST_F(FileTest, LockFileWaitsForTheHolderSaysSoOnceAndTimesOut) {
  const fs::path lock = dir_ / "image.lock";
  FakeClock clock;
  auto first = lock_file(lock, clock, std::chrono::seconds(5));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(clock.sleeps, 0);
  EXPECT_EQ(mode_of(lock), 0600u);

  int told = 0;
  auto second = lock_file(lock, clock, std::chrono::seconds(2), [&] { ++told; });
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, Failure::Kind::Timeout);
  EXPECT_NE(second.error().message.find("image.lock"), std::string::npos) << second.error().message;
  EXPECT_EQ(told, 1);
  EXPECT_EQ(clock.sleeps, 10);  // every 200 ms for 2 s

  first->reset();  // the holder goes: the next one gets it at once
  auto third = lock_file(lock, clock, std::chrono::seconds(2), [&] { ++told; });
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(told, 1);
}

TEST_F(FileTest, LockFileOnAFolderCreatesNothingInIt) {
  FakeClock clock;
  auto first = lock_file(dir_, clock, std::chrono::seconds(1));
  ASSERT_TRUE(first) << first.error().message;
  auto second = lock_file(dir_, clock, std::chrono::seconds(1));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, Failure::Kind::Timeout);
  EXPECT_TRUE(entries().empty());
}

TEST_F(FileTest, LockFileInAFolderThatDoesNotExistIsAnError) {
  FakeClock clock;
  auto l = lock_file(dir_ / "no" / "such.lock", clock, std::chrono::seconds(1));
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().kind, Failure::Kind::Error);
  EXPECT_EQ(clock.sleeps, 0);
}

TEST(Fd, ClosesWhatItOwnsAndHandsItOnByMove) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const int raw = p[0];
  {
    Fd a(raw);
    EXPECT_TRUE(a);
    EXPECT_EQ(a.get(), raw);
    Fd b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from holds nothing
    EXPECT_EQ(*b, raw);
    EXPECT_NE(::fcntl(raw, F_GETFD), -1);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed with its last owner
  {
    Fd w(p[1]);
    const int kept = w.release();
    EXPECT_FALSE(w);
    EXPECT_EQ(kept, p[1]);
  }
  EXPECT_NE(::fcntl(p[1], F_GETFD), -1);  // released: still open
  Fd w(p[1]);
  EXPECT_TRUE(w.close());
  EXPECT_FALSE(w);
  EXPECT_EQ(::fcntl(p[1], F_GETFD), -1);
  EXPECT_FALSE(Fd().close());
}

TEST(Fd, MoveAssignmentClosesTheOneItHeld) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Fd a(p[0]), b(p[1]);
  a = std::move(b);
  EXPECT_EQ(::fcntl(p[0], F_GETFD), -1);
  EXPECT_EQ(a.get(), p[1]);
}

}  // namespace
}  // namespace dcslab
