// The watch check on the corpus (fixtures/histories/watch-*.json against the writer's
// watch-writes.json): a clean record passes; a reordered, a duplicated event, a gap inside
// a stream and one at a re-watch are each caught and named. Then each other finding on
// small records made here, and the JSON both ways.
#include "check/watch_history.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "base/file.h"
#include "base/paths.h"
#include "check/dcslab_history.h"

namespace dcslab {
namespace {

std::filesystem::path corpus(const std::string& name) { return source_dir() / "fixtures" / "histories" / name; }

KvHistory writes() { return read_dcslab_history_file(corpus("watch-writes.json")); }

WatchHistory watches(const std::string& name) {
  auto text = read_file(corpus(name));
  EXPECT_TRUE(text) << name;
  auto w = parse_watch_history(text ? *text : "");
  EXPECT_TRUE(w) << name << ": " << (w ? "" : w.error().message);
  return w ? *w : WatchHistory{};
}

std::vector<std::string> kinds(const WatchCheckResult& r) {
  std::vector<std::string> k;
  for (const auto& f : r.findings) k.push_back(f.kind);
  return k;
}

std::string all(const WatchCheckResult& r) {
  std::string s;
  for (const auto& f : r.findings) s += f.kind + ": " + f.message + "\n";
  return s;
}

TEST(WatchCorpus, ACleanRecordPasses) {
  const WatchCheckResult r = check_watches(watches("watch-clean.json"), writes());
  EXPECT_TRUE(r.passed()) << all(r);
  EXPECT_EQ(r.watches, 2);
  EXPECT_EQ(r.sessions, 3);
  EXPECT_EQ(r.resumed, 1);
  EXPECT_EQ(r.events, 12);
}

TEST(WatchCorpus, AReorderedEventIsCaughtAndNamed) {
  const WatchCheckResult r = check_watches(watches("watch-reordered.json"), writes());
  EXPECT_FALSE(r.passed());
  ASSERT_EQ(kinds(r), std::vector<std::string>{"reordered"}) << all(r);
  EXPECT_EQ(r.reordered, 1);
  EXPECT_EQ(r.findings[0].watch, "wa-1");
  EXPECT_NE(r.findings[0].message.find("at revision 4 (session 1, response 4) came after"), std::string::npos)
      << r.findings[0].message;
  EXPECT_NE(r.findings[0].message.find("at revision 5"), std::string::npos) << r.findings[0].message;
}

TEST(WatchCorpus, ADuplicatedEventIsCaughtAndNamed) {
  const WatchCheckResult r = check_watches(watches("watch-duplicated.json"), writes());
  EXPECT_FALSE(r.passed());
  ASSERT_EQ(kinds(r), std::vector<std::string>{"duplicated"}) << all(r);
  EXPECT_EQ(r.duplicated, 1);
  EXPECT_NE(r.findings[0].message.find("key-0 = \"w1-4\" at revision 5 (session 1, response 5) was already delivered"),
            std::string::npos)
      << r.findings[0].message;
}

TEST(WatchCorpus, AGapInsideAStreamIsMissed) {
  const WatchCheckResult r = check_watches(watches("watch-gap.json"), writes());
  ASSERT_EQ(kinds(r), std::vector<std::string>{"missed"}) << all(r);
  EXPECT_NE(r.findings[0].message.find("put #6"), std::string::npos) << r.findings[0].message;
  EXPECT_NE(r.findings[0].message.find("revisions 2 to 7"), std::string::npos) << r.findings[0].message;
}

TEST(WatchCorpus, AGapAtAReWatchIsTheReWatchs) {
  const WatchCheckResult r = check_watches(watches("watch-resume-gap.json"), writes());
  ASSERT_EQ(kinds(r), std::vector<std::string>{"resume-missed"}) << all(r);
  EXPECT_NE(r.findings[0].message.find("put #6"), std::string::npos) << r.findings[0].message;
  EXPECT_NE(r.findings[0].message.find("after revision 5 went on at revision 7"), std::string::npos)
      << r.findings[0].message;
}

// Small records against the corpus's writes: revisions 2 (#1), 3 (#2), 4 (indeterminate
// #3 landed), 5 (cas #5), 6 (#6), 7 (#8); #4 failed, cas #7 did not swap.
const std::string P = "/dcslab/writes/w1/r1/";

WatchEvent event(std::int64_t rev, const std::string& key, const std::string& value, int response,
                 int session = 0, double at = 3000) {
  WatchEvent e;
  e.revision = rev;
  e.key = P + key;
  e.value = value;
  e.response = response;
  e.session = session;
  e.received_ms = at;
  return e;
}

Watch one(std::vector<WatchEvent> events, std::int64_t from = 2, int sessions = 1) {
  Watch w;
  w.id = "wa-1";
  for (int i = 0; i < sessions; ++i) w.sessions.push_back({"dcs-0" + std::to_string(i), from, 0, 0, 1, 0, "stopped"});
  w.events = std::move(events);
  return w;
}

WatchHistory record(std::vector<Watch> ws) {
  WatchHistory h;
  h.name = "wa";
  h.writer = "w1";
  h.prefix = P;
  h.watches = std::move(ws);
  return h;
}

TEST(WatchCheck, EveryEventMustMatchAWriteThatCouldHaveMadeIt) {
  const auto r = check_watches(
      record({one({event(2, "key-0", "w1-0", 1), event(3, "key-1", "w1-1", 2), event(4, "key-1", "w1-3", 3),
                   event(5, "key-1", "w1-6", 4), event(6, "key-1", "w1-5", 5), event(7, "key-0", "nobody", 6)},
                  2)}),
      writes());
  EXPECT_EQ(r.unexplained, 3) << all(r);
  const std::string text = all(r);
  EXPECT_NE(text.find("the value of put #4"), std::string::npos) << text;       // failed
  EXPECT_NE(text.find("which the client was told did not happen"), std::string::npos) << text;
  EXPECT_NE(text.find("found its compare false and wrote nothing"), std::string::npos) << text;  // cas #7
  EXPECT_NE(text.find("no write of the history wrote that value"), std::string::npos) << text;
  // Revisions 5 and 7 were acknowledged writes' (cas #5, put #8), which the watch did not
  // deliver as themselves: missed too. 4 was the indeterminate #3's: no promise.
  EXPECT_EQ(r.missed, 2) << text;  // #5 (revision 5) and #8 (revision 7); 4 was indeterminate
}

TEST(WatchCheck, AnAcknowledgedWriteAtAnotherRevisionOrSeenBeforeItWasSentIsUnexplained) {
  const auto r = check_watches(record({one({event(2, "key-0", "w1-0", 1), event(3, "key-0", "w1-7", 2),
                                            event(4, "key-0", "w1-2", 3, 0, 150)},
                                           2)}),
                               writes());
  const std::string text = all(r);
  EXPECT_NE(text.find("put #8"), std::string::npos) << text;
  EXPECT_NE(text.find("written at another revision"), std::string::npos) << text;
  EXPECT_NE(text.find("received before that write was sent"), std::string::npos) << text;  // #3 sent at 200
  EXPECT_EQ(r.unexplained, 2) << text;
}

TEST(WatchCheck, ADeleteIsUnexplained) {
  WatchEvent d = event(2, "key-0", "", 1);
  d.deleted = true;
  const auto r = check_watches(record({one({d})}), writes());
  EXPECT_EQ(r.unexplained, 1) << all(r);
  EXPECT_NE(all(r).find("a delete, and the writer never deletes"), std::string::npos) << all(r);
}

TEST(WatchCheck, OneRevisionInTwoResponsesIsSplit) {
  // Two events at one revision (a txn's two puts would be): they must come together.
  const auto r = check_watches(record({one({event(2, "key-0", "w1-0", 1), event(2, "key-1", "w1-1", 2)})}),
                               KvHistory{});
  EXPECT_EQ(r.split, 1) << all(r);
  EXPECT_EQ(r.reordered, 0);
  EXPECT_EQ(r.duplicated, 0);
}

TEST(WatchCheck, TwoWatchesSeeingDifferentValuesAtOneRevisionDiverged) {
  Watch a = one({event(2, "key-0", "w1-0", 1)});
  Watch b = one({event(2, "key-0", "w1-2", 1)});
  b.id = "wa-2";
  const auto r = check_watches(record({a, b}), writes());
  EXPECT_EQ(r.diverged, 1) << all(r);
  EXPECT_NE(all(r).find("but wa-1 saw \"w1-0\" there"), std::string::npos) << all(r);
}

TEST(WatchCheck, AReWatchRepeatingWhatWasDeliveredIsResumeRepeated) {
  const auto r = check_watches(record({one({event(2, "key-0", "w1-0", 1), event(3, "key-1", "w1-1", 2),
                                            event(3, "key-1", "w1-1", 3, 1), event(4, "key-0", "w1-2", 4, 1)},
                                           2, 2)}),
                               writes());
  EXPECT_EQ(kinds(r), std::vector<std::string>{"resume-repeated"}) << all(r);
  EXPECT_NE(all(r).find("the re-watch through dcs-01 from revision 2"), std::string::npos) << all(r);
}

TEST(WatchCheck, ACompactedReWatchAndAnEmptyWatchAreUnverified) {
  Watch a = one({event(2, "key-0", "w1-0", 1)}, 2, 2);
  a.sessions[1].compact_revision = 5;
  Watch empty = one({});
  empty.id = "wa-2";
  const auto r = check_watches(record({a, empty}), writes());
  EXPECT_EQ(r.unverified, 2) << all(r);
  EXPECT_FALSE(r.passed());
  EXPECT_NE(all(r).find("compacted up to revision 5"), std::string::npos) << all(r);
  EXPECT_NE(all(r).find("wa-2: delivered no event at all"), std::string::npos) << all(r);
}

TEST(WatchCheck, TheRecordAndItsVerdictRoundTripAsJson) {
  const WatchHistory w = watches("watch-reordered.json");
  const WatchCheckResult r = check_watches(w, writes());
  const std::string text = watch_history_json(w, &r);
  auto back = parse_watch_history(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(watch_history_json(*back, &r), text);
  EXPECT_NE(text.find("\"reordered\": 1"), std::string::npos);
  EXPECT_NE(text.find("\"passed\": false"), std::string::npos);
  auto bad = parse_watch_history("{\"watches\": [{\"id\": \"x\", \"events\": [{\"revision\": 0, \"key\": \"k\"}]}]}");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "watches[0].events[0].revision: must be positive");
}

}  // namespace
}  // namespace dcslab
