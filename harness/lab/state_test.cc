#include "lab/state.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace dcslab {
namespace {

namespace fs = std::filesystem;

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dcslab-state-XXXXXX";
    home_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(home_); }
  fs::path home_;
};

TEST_F(StateTest, LedgerSurvivesReopenInOrder) {
  {
    LabState s(home_, "dcs");
    s.record({"libvirt-network", "dcslab-dcs", ""});
    s.record({"libvirt-domain", "dcslab-dcs-dcs-00", "x"});
    s.record({"libvirt-network", "dcslab-dcs", ""});  // recorded once
    s.set("libvirt_uri", "qemu:///system?socket=/x");
  }
  LabState again(home_, "dcs");
  const auto r = again.resources();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "dcslab-dcs");
  EXPECT_EQ(r[1].data, "x");
  EXPECT_TRUE(again.has("libvirt-domain", "dcslab-dcs-dcs-00"));
  EXPECT_EQ(again.get("libvirt_uri"), "qemu:///system?socket=/x");
  again.forget(r[0]);
  EXPECT_FALSE(LabState(home_, "dcs").has("libvirt-network", "dcslab-dcs"));
}

TEST_F(StateTest, LabsAreSeparate) {
  LabState a(home_, "a"), b(home_, "b");
  EXPECT_FALSE(fs::exists(home_ / "labs")) << "looking at a lab must create nothing";
  a.record({"netns", "dcslab-a", ""});
  b.set("k", "v");
  EXPECT_TRUE(b.empty());
  EXPECT_NE(a.dir(), b.dir());
  a.remove_all();
  EXPECT_FALSE(fs::exists(home_ / "labs" / "a"));
  EXPECT_TRUE(fs::exists(home_ / "labs" / "b"));
}

TEST_F(StateTest, TornLedgerIsAFatalErrorNamingTheFile) {
  LabState(home_, "dcs").prepare();
  std::ofstream(home_ / "labs/dcs/resources.json") << "{\"resources\": [";
  try {
    LabState s(home_, "dcs");
    FAIL() << "expected Fatal";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("resources.json"), std::string::npos);
  }
}

TEST(StateHome, EnvironmentChoosesHome) {
  setenv("DCSLAB_HOME", "/tmp/x-dcslab", 1);
  EXPECT_EQ(dcslab_home(), fs::path("/tmp/x-dcslab"));
  unsetenv("DCSLAB_HOME");
  setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(dcslab_home(), fs::path("/tmp/xdg/dcslab"));
  unsetenv("XDG_DATA_HOME");
}

}  // namespace
}  // namespace dcslab
