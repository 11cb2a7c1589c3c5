// The sessions LabControl keeps: reused until what breaks them goes through it.
#include "lab/lab_control.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/paths.h"
#include "base/progress.h"
#include "testing/fake_lab.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

class LabControlSessions : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() / "dcslab-lab-control-sessions";
    fs::remove_all(home_);
    lab_ = std::make_unique<FakeLabControl>(load_lab(source_dir() / "fixtures/labs/dcs.yaml"),
                                            home_, script_);
  }
  void TearDown() override { fs::remove_all(home_); }
  std::shared_ptr<Transport> connect(const std::string& node, bool fresh = false) {
    auto t = lab_->connect(node, "tux", fresh);
    EXPECT_TRUE(t) << t.error().message;
    return t ? *t : nullptr;
  }

  fs::path home_;
  FakeScript script_;
  std::unique_ptr<FakeLabControl> lab_;
  NullProgress progress_;
};

TEST_F(LabControlSessions, KeptPerNodeAndUserAndAFreshOneTakesTheOldOnesPlace) {
  const auto a = connect("dcs-00");
  EXPECT_EQ(connect("dcs-00"), a);
  ASSERT_TRUE(lab_->connect("dcs-00", "root", false));
  const auto b = connect("dcs-00", true);
  EXPECT_NE(b, a);
  EXPECT_EQ(connect("dcs-00"), b);
  EXPECT_EQ(lab_->connects, (Strings{"dcs-00/tux", "dcs-00/root", "dcs-00/tux"}));
}

TEST_F(LabControlSessions, AFaultThatBreaksSessionsDropsThatNodesOnly) {
  const auto a0 = connect("dcs-00");
  const auto a1 = connect("dcs-01");
  ASSERT_TRUE(lab_->fault("dcs-00", FaultKind::Heal, progress_));
  EXPECT_EQ(connect("dcs-00"), a0);  // heal breaks nothing
  ASSERT_TRUE(lab_->fault("dcs-00", FaultKind::Partition, progress_));
  EXPECT_NE(connect("dcs-00"), a0);
  EXPECT_EQ(connect("dcs-01"), a1);
  // A refused fault that breaks sessions drops them all the same (it may have half-happened).
  lab_->fault_failures["crash dcs-01"] = "no";
  EXPECT_FALSE(lab_->fault("dcs-01", FaultKind::Crash, progress_));
  EXPECT_NE(connect("dcs-01"), a1);
}

TEST_F(LabControlSessions, RebootRevertAndDownDropThem) {
  auto a = connect("dcs-00");
  ASSERT_TRUE(lab_->reboot("dcs-00", progress_));
  auto b = connect("dcs-00");
  EXPECT_NE(b, a);
  lab_->revert_failure = "the provider failed";
  lab_->snapshot_names.insert("s");
  EXPECT_FALSE(lab_->snapshot_revert("s", progress_));  // failed: none can be trusted
  auto c = connect("dcs-00");
  EXPECT_NE(c, b);
  ASSERT_TRUE(lab_->down(progress_));
  EXPECT_NE(connect("dcs-00"), c);
  EXPECT_EQ(lab_->connects.size(), 4u);
}

}  // namespace
}  // namespace dcslab
