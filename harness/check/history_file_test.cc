#include "check/history_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "base/error.h"
#include "base/paths.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

class HistoryFile : public ::testing::Test {
 protected:
  fs::path dir_ = fs::temp_directory_path() / ("dcslab-history-file-" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
};

const char* kLinearizableLog =
    "INFO  jepsen.util - 0\t:invoke\t:write\t1\n"
    "INFO  jepsen.util - 0\t:ok\t:write\t1\n"
    "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 1\t:ok\t:read\t1\n";

TEST_F(HistoryFile, ExitCodesFollowTheVerdict) {
  EXPECT_EQ(exit_code(Verdict::Linearizable), 0);
  EXPECT_EQ(exit_code(Verdict::NotLinearizable), 1);
  EXPECT_EQ(exit_code(Verdict::Undecided), 4);

  const auto good = check_history_file(write("good.log", kLinearizableLog));
  EXPECT_EQ(good.verdict, Verdict::Linearizable);
  EXPECT_EQ(good.exit_code(), 0);
  EXPECT_NE(good.text.find("(jepsen, 2 ops): linearizable"), std::string::npos) << good.text;

  std::string bad = kLinearizableLog;
  bad += "INFO  jepsen.util - 2\t:invoke\t:read\tnil\nINFO  jepsen.util - 2\t:ok\t:read\tnil\n";
  const auto stale = check_history_file(write("stale.log", bad), HistoryFormat::Jepsen);
  EXPECT_EQ(stale.exit_code(), 1);
  EXPECT_NE(stale.text.find("stale-read"), std::string::npos) << stale.text;
  EXPECT_NE(stale.text.find("read line 5 (process 2, lines 5-6) saw no key"), std::string::npos) << stale.text;

  CheckBudget tiny;
  tiny.steps = 1;
  const auto undecided = check_history_file(write("good2.log", kLinearizableLog), HistoryFormat::Auto, tiny);
  EXPECT_EQ(undecided.exit_code(), 4);
}

TEST_F(HistoryFile, ReadsDcslabJsonByItsFirstCharacter) {
  const auto v = check_history_file(source_dir() / "fixtures" / "writes" / "stale.json");
  EXPECT_EQ(v.exit_code(), 1);
  EXPECT_NE(v.text.find("(dcslab, "), std::string::npos) << v.text;
  // Forced to the wrong reader, it is unreadable.
  EXPECT_THROW(check_history_file(source_dir() / "fixtures" / "writes" / "stale.json", HistoryFormat::Jepsen),
               BadInput);
}

TEST_F(HistoryFile, UnreadableInputIsBadInputWithItsPosition) {
  const fs::path p = write("broken.log", std::string(kLinearizableLog) + "INFO  jepsen.util - 0\t:ok\t:read\t1\n");
  try {
    check_history_file(p);
    ADD_FAILURE() << "accepted";
  } catch (const BadInput& e) {
    EXPECT_EQ(std::string(e.what()), p.string() + ":5: process 0 completes (:ok) an op it never invoked");
  }
  EXPECT_THROW(check_history_file(dir_ / "missing.json"), BadInput);
  EXPECT_THROW(check_history_file(write("empty.log", "")), BadInput);
}

TEST(HistoryFormatName, KnowsItsThreeNames) {
  EXPECT_EQ(parse_history_format("dcslab"), HistoryFormat::Dcslab);
  EXPECT_EQ(parse_history_format("jepsen"), HistoryFormat::Jepsen);
  EXPECT_EQ(parse_history_format("auto"), HistoryFormat::Auto);
  EXPECT_THROW(parse_history_format("knossos"), BadInput);
}

}  // namespace
}  // namespace dcslab
