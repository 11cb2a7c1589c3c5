#include "lab/consistent_snapshot.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace dcslab {
namespace {

class NullProgress : public Progress {
 public:
  void phase(const std::string&) override {}
  void waiting(const std::string&, std::chrono::seconds, std::chrono::seconds) override {}
  void done(const std::string&) override {}
};

// Records every call as "op node [name]" and keeps which node holds which snapshot;
// `fail` names calls ("create dcs-01") that fail.
class RecordingSnapshots : public NodeSnapshots {
 public:
  Expected<void> pause(const std::string& n) override { return call("pause " + n); }
  Expected<void> resume(const std::string& n) override { return call("resume " + n); }
  Expected<bool> has(const std::string& n, const std::string& s) override {
    return held.count(n + "/" + s) > 0;
  }
  Expected<void> create(const std::string& n, const std::string& s) override {
    auto r = call("create " + n + " " + s);
    if (r) held.insert(n + "/" + s);
    return r;
  }
  Expected<void> revert(const std::string& n, const std::string& s) override {
    return call("revert " + n + " " + s);
  }
  Expected<void> remove(const std::string& n, const std::string& s) override {
    auto r = call("remove " + n + " " + s);
    if (r) held.erase(n + "/" + s);
    return r;
  }

  std::vector<std::string> calls;
  std::set<std::string> fail;
  std::set<std::string> held;

 private:
  Expected<void> call(const std::string& what) {
    calls.push_back(what);
    if (fail.count(what)) return Failure::error("injected failure of " + what);
    return {};
  }
};

const std::vector<std::string> kNodes = {"dcs-00", "dcs-01", "dcs-02"};
using Calls = std::vector<std::string>;

TEST(ConsistentSnapshot, SavePausesAllThenSavesAllThenResumesAll) {
  RecordingSnapshots ops;
  NullProgress p;
  ASSERT_TRUE(consistent_save(ops, kNodes, "base", p).ok());
  EXPECT_EQ(ops.calls, (Calls{"pause dcs-00", "pause dcs-01", "pause dcs-02", "create dcs-00 base",
                              "create dcs-01 base", "create dcs-02 base", "resume dcs-00",
                              "resume dcs-01", "resume dcs-02"}));
}

TEST(ConsistentSnapshot, SaveRefusesAnExistingNameAndTouchesNothing) {
  RecordingSnapshots ops;
  ops.held.insert("dcs-01/base");
  NullProgress p;
  auto r = consistent_save(ops, kNodes, "base", p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Failure::Kind::Refused);
  EXPECT_NE(r.error().message.find("dcs-01"), std::string::npos) << r.error().message;
  EXPECT_TRUE(ops.calls.empty());
}

TEST(ConsistentSnapshot, FailedSaveUndoesTheSnapshotsMadeAndResumesEveryNode) {
  RecordingSnapshots ops;
  ops.fail.insert("create dcs-02 base");
  NullProgress p;
  auto r = consistent_save(ops, kNodes, "base", p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("injected failure of create dcs-02 base"), std::string::npos);
  EXPECT_EQ(ops.calls, (Calls{"pause dcs-00", "pause dcs-01", "pause dcs-02", "create dcs-00 base",
                              "create dcs-01 base", "create dcs-02 base", "remove dcs-00 base",
                              "remove dcs-01 base", "resume dcs-00", "resume dcs-01",
                              "resume dcs-02"}));
  EXPECT_TRUE(ops.held.empty());
}

TEST(ConsistentSnapshot, FailedPauseResumesOnlyThoseAlreadyPaused) {
  RecordingSnapshots ops;
  ops.fail.insert("pause dcs-01");
  NullProgress p;
  ASSERT_FALSE(consistent_save(ops, kNodes, "base", p).ok());
  EXPECT_EQ(ops.calls, (Calls{"pause dcs-00", "pause dcs-01", "resume dcs-00"}));
}

TEST(ConsistentSnapshot, RevertPausesAllThenRevertsAllThenResumesAll) {
  RecordingSnapshots ops;
  for (const auto& n : kNodes) ops.held.insert(n + "/base");
  NullProgress p;
  ASSERT_TRUE(consistent_revert(ops, kNodes, "base", p).ok());
  EXPECT_EQ(ops.calls, (Calls{"pause dcs-00", "pause dcs-01", "pause dcs-02", "revert dcs-00 base",
                              "revert dcs-01 base", "revert dcs-02 base", "resume dcs-00",
                              "resume dcs-01", "resume dcs-02"}));
}

TEST(ConsistentSnapshot, RevertOfAPartialSnapshotIsRefusedBeforeAnyPause) {
  RecordingSnapshots ops;
  ops.held.insert("dcs-00/base");
  ops.held.insert("dcs-02/base");
  NullProgress p;
  auto r = consistent_revert(ops, kNodes, "base", p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Failure::Kind::NotFound);
  EXPECT_NE(r.error().message.find("missing on dcs-01"), std::string::npos) << r.error().message;
  EXPECT_TRUE(ops.calls.empty());
  auto none = consistent_revert(ops, kNodes, "other", p);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "no snapshot other (dcslab snapshot list)");
}

TEST(ConsistentSnapshot, FailedRevertStillResumesEveryNodeAndSaysTheLabIsMixed) {
  RecordingSnapshots ops;
  for (const auto& n : kNodes) ops.held.insert(n + "/base");
  ops.fail.insert("revert dcs-01 base");
  NullProgress p;
  auto r = consistent_revert(ops, kNodes, "base", p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("partly reverted"), std::string::npos) << r.error().message;
  EXPECT_EQ(ops.calls, (Calls{"pause dcs-00", "pause dcs-01", "pause dcs-02", "revert dcs-00 base",
                              "revert dcs-01 base", "resume dcs-00", "resume dcs-01",
                              "resume dcs-02"}));
}

TEST(ConsistentSnapshot, RemoveEverywhereRemovesWhatExistsAndNotFoundWhenNothing) {
  RecordingSnapshots ops;
  ops.held.insert("dcs-00/base");
  ops.held.insert("dcs-02/base");
  NullProgress p;
  ASSERT_TRUE(remove_everywhere(ops, kNodes, "base", p).ok());
  EXPECT_EQ(ops.calls, (Calls{"remove dcs-00 base", "remove dcs-02 base"}));
  auto again = remove_everywhere(ops, kNodes, "base", p);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, Failure::Kind::NotFound);
}

TEST(ConsistentSnapshot, NamesThatCannotTravelSafelyAreInvalid) {
  EXPECT_TRUE(valid_snapshot_name("base"));
  EXPECT_TRUE(valid_snapshot_name("cluster-3.tls_ready"));
  for (const char* bad : {"", "-x", ".x", "a b", "a/b", "a;reboot", "a'b", "x\n"})
    EXPECT_FALSE(valid_snapshot_name(bad)) << bad;
  EXPECT_FALSE(valid_snapshot_name(std::string(65, 'a')));
  RecordingSnapshots ops;
  NullProgress p;
  EXPECT_FALSE(consistent_save(ops, kNodes, "a;b", p).ok());
  EXPECT_TRUE(ops.calls.empty());
}

}  // namespace
}  // namespace dcslab
