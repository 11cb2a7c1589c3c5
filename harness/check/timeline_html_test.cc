#include "check/timeline_html.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dcslab {
namespace {

KvOp op(KvKind kind, std::optional<std::string> value, double call, double ret, std::string client,
        std::string endpoint = "", KvOutcome out = KvOutcome::Ok) {
  KvOp o;
  o.kind = kind;
  o.key = "k";
  o.value = std::move(value);
  o.call = call;
  o.ret = ret;
  o.client = std::move(client);
  o.endpoint = std::move(endpoint);
  o.outcome = out;
  return o;
}

// The data the page's script draws, read back out of the page.
nlohmann::json page_data(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"data\">";
  const auto a = page.find(open);
  EXPECT_NE(a, std::string::npos);
  const auto b = page.find("</script>", a);
  EXPECT_NE(b, std::string::npos);
  return nlohmann::json::parse(page.substr(a + open.size(), b - a - open.size()));
}

TEST(TimelineHtml, OneLanePerClientAndPerMemberOfAClientThatUsedSeveral) {
  KvHistory h;
  h.ops.push_back(op(KvKind::Put, "a", 0, 5, "writer", "dcs-00"));
  h.ops.push_back(op(KvKind::Put, "b", 6, 9, "writer", "dcs-01"));
  h.ops.push_back(op(KvKind::Read, "b", 10, 12, "writer", "dcs-00"));
  h.ops.push_back(op(KvKind::Read, "b", 11, 13, "process 10"));
  h.ops.push_back(op(KvKind::Read, "b", 11, 13, "process 9"));
  std::vector<std::size_t> lane_of;
  const auto lanes = timeline_lanes(h, &lane_of);
  EXPECT_EQ(lanes, (std::vector<std::string>{"process 9", "process 10", "writer via dcs-00", "writer via dcs-01"}));
  EXPECT_EQ(lane_of, (std::vector<std::size_t>{2, 3, 2, 1, 0}));
}

TEST(TimelineHtml, CarriesEveryOpFaultAndFindingWithoutNetworkAssets) {
  KvHistory h;
  h.ops.push_back(op(KvKind::Put, "a", 0, 5, "c1"));
  h.ops.push_back(op(KvKind::Put, "b", 3, 0, "c2", "", KvOutcome::Info));
  h.ops.push_back(op(KvKind::Put, "c", 7, 8, "c1", "", KvOutcome::Fail));
  TimelineInput in;
  in.title = "writes-x-w1";
  in.faults.push_back({"crash dcs-01", 2, 40});
  in.findings.push_back({"stale", "read #3 saw a", {0, 2, 99}});
  const std::string page = timeline_html(h, in);
  const auto d = page_data(page);
  ASSERT_EQ(d["ops"].size(), 3u);
  EXPECT_EQ(d["ops"][1]["outcome"], "info");
  EXPECT_EQ(d["ops"][2]["outcome"], "fail");
  EXPECT_EQ(d["lanes"].size(), 2u);
  EXPECT_EQ(d["faults"][0]["label"], "crash dcs-01");
  EXPECT_DOUBLE_EQ(d["end"].get<double>(), 40.0);  // the fault band reaches past the last op
  EXPECT_EQ(d["findings"][0]["ops"], nlohmann::json::array({0, 2}));  // 99 is no op
  EXPECT_TRUE(d["bad"].get<bool>());
  EXPECT_NE(page.find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(page.find("http://"), page.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find(" src="), std::string::npos);
}

TEST(TimelineHtml, AValueCannotEndTheDataScriptOrInjectMarkup) {
  KvHistory h;
  h.ops.push_back(op(KvKind::Put, "</script><script>alert(1)</script>", 0, 1, "c1"));
  TimelineInput in;
  in.title = "<b>t</b>";
  const std::string page = timeline_html(h, in);
  EXPECT_EQ(page.find("<script>alert"), std::string::npos);
  EXPECT_NE(page.find("&lt;b&gt;t&lt;/b&gt;"), std::string::npos);
  const auto d = page_data(page);  // still parses as one JSON object
  EXPECT_NE(d["ops"][0]["text"].get<std::string>().find("</script><script>alert(1)"), std::string::npos);
}

TEST(TimelineHtml, MarksTheFailingPrefixOfANonLinearizableHistory) {
  // c1 writes a and it is acknowledged; later c2 reads nothing: a stale read.
  KvHistory h;
  h.ops.push_back(op(KvKind::Put, "a", 0, 5, "c1"));
  h.ops.push_back(op(KvKind::Read, std::nullopt, 10, 12, "c2"));
  h.ops.push_back(op(KvKind::Read, "a", 20, 22, "c3"));
  const LinearizabilityResult r = check_linearizable(h);
  ASSERT_EQ(r.verdict, Verdict::NotLinearizable);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.violations[0].prefix.size(), r.violations[0].prefix_ops);
  TimelineInput in;
  in.model = &r;
  const auto d = page_data(timeline_html(h, in));
  EXPECT_TRUE(d["ops"][0]["prefix"].get<bool>());
  EXPECT_TRUE(d["ops"][1]["prefix"].get<bool>());
  EXPECT_TRUE(d["ops"][1]["last"].get<bool>());
  EXPECT_FALSE(d["ops"][2]["prefix"].get<bool>());  // called after the prefix ends
  ASSERT_EQ(d["findings"].size(), 1u);
  EXPECT_EQ(d["findings"][0]["ops"][0], 1);
  EXPECT_NE(d["findings"][0]["message"].get<std::string>().find("it saw no key"), std::string::npos)
      << d["findings"][0]["message"];  EXPECT_NE(d["summary"].get<std::string>().find("not linearizable"), std::string::npos);
}

TEST(TimelineHtml, ALinearizableHistoryIsNotMarkedBad) {
  KvHistory h;
  h.ops.push_back(op(KvKind::Put, "a", 0, 5, "c1"));
  h.ops.push_back(op(KvKind::Read, "a", 6, 8, "c2"));
  const LinearizabilityResult r = check_linearizable(h);
  TimelineInput in;
  in.model = &r;
  const auto d = page_data(timeline_html(h, in));
  EXPECT_FALSE(d["bad"].get<bool>());
  EXPECT_TRUE(d["findings"].empty());
}

}  // namespace
}  // namespace dcslab
