#include "scenario/matcher.h"
#include "base/paths.h"

#include <gtest/gtest.h>

#include <chrono>

namespace dcslab {
namespace {

TextMatcher m(TextMatcher::Kind k, std::string text, bool negate = false) {
  TextMatcher t;
  t.kind = k;
  t.text = std::move(text);
  t.negate = negate;
  return t;
}

using K = TextMatcher::Kind;

TEST(Matcher, ContainsAndNot) {
  EXPECT_FALSE(check(m(K::Contains, "etcd"), "LISTEN 0 users:((\"etcd\",pid=639))\n"));
  auto f = check(m(K::Contains, "etcd"), "nothing here\n");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, "expected to contain \"etcd\"");
  EXPECT_TRUE(check(m(K::Contains, "etcd", true), "etcd\n"));
  EXPECT_EQ(*check(m(K::Contains, "etcd", true), "etcd\n"), "expected not to contain \"etcd\"");
  EXPECT_FALSE(check(m(K::Contains, "etcd", true), "nothing\n"));
}

TEST(Matcher, EqualsIgnoresTrailingNewlineOnly) {
  EXPECT_FALSE(check(m(K::Equals, "dcs-00.patroni.mydomain"), "dcs-00.patroni.mydomain\n"));
  EXPECT_FALSE(check(m(K::Equals, "x\n"), "x"));
  EXPECT_TRUE(check(m(K::Equals, "dcs-00"), " dcs-00\n"));
  EXPECT_TRUE(check(m(K::Equals, "dcs-00"), "dcs-00\nmore\n"));
  EXPECT_FALSE(check(m(K::Equals, "dcs-00", true), "dcs-01\n"));
  EXPECT_TRUE(check(m(K::Equals, "dcs-00", true), "dcs-00\n"));
  EXPECT_FALSE(check(m(K::Equals, ""), ""));
}

TEST(Matcher, MatchesIsRe2AndMultiline) {
  const std::string out = "LISTEN 0 4096 127.0.0.1:2379 0.0.0.0:*\nLISTEN 0 4096 127.0.0.1:2380 0.0.0.0:*\n";
  EXPECT_FALSE(check(m(K::Matches, R"(^LISTEN\s+\d+\s+\d+\s+127\.0\.0\.1:2380)"), out));
  EXPECT_TRUE(check(m(K::Matches, R"(^\*:2379)"), out));
  EXPECT_EQ(*check(m(K::Matches, "^x$"), out), "expected to match /^x$/");
  EXPECT_FALSE(check(m(K::Matches, R"(\*:2379)", true), out));
  EXPECT_TRUE(check(m(K::Matches, R"(0\.0\.0\.0:\*$)", true), out));  // $ at each line end
  EXPECT_FALSE(check(m(K::Matches, "2379$", true), out));
}

// The issue-19 crash: std::regex recursed per character and a 3 MB line killed dcslab
// with SIGSEGV. RE2 is linear and does not recurse.
TEST(Matcher, MatchesThreeMegabyteLine) {
  std::string line(3 * 1024 * 1024, 'a');
  for (std::size_t i = 0; i < line.size(); i += 7) line[i] = 'b';
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(check(m(K::Matches, "^(a|b)+$"), line + "\n"));
  EXPECT_TRUE(check(m(K::Matches, "^(a|b)+$"), line + "c\n"));
  EXPECT_TRUE(check(m(K::Matches, "^(a|b)+$", true), line));
  EXPECT_FALSE(check(m(K::Matches, "(a|b)*c", true), line));
  // Backtracking would be exponential here; linear time keeps it well under a second
  // even on a loaded machine (measured: 186 ms for the five, 3 MB string built included).
  EXPECT_FALSE(check(m(K::Matches, "^(a|aa|b)*$"), line));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 10000) << "five matches over 3 MB took " << ms << " ms";
}

TEST(Matcher, MatchesAcrossTwoHundredThousandLines) {
  std::string out, crlf;
  for (int i = 0; i < 200000; ++i) {
    out += "line " + std::to_string(i) + "\n";
    crlf += "line " + std::to_string(i) + "\r\n";
  }
  // From the first line to the last, through every line break between.
  const std::string across = R"(^line 0$(?s:.*)^line 199998\nline 199999$)";
  EXPECT_FALSE(check(m(K::Matches, across), out));
  EXPECT_FALSE(check(m(K::Matches, across), crlf));  // "\r\n" ends a line too
  EXPECT_FALSE(check(m(K::Matches, R"(^line 1234$\n^line 1235$)"), out));
  EXPECT_TRUE(check(m(K::Matches, R"(^line 200000$)"), out));
  EXPECT_TRUE(check(m(K::Matches, R"(^line 7$\n^line 9$)"), out));
  // Every line, each anchored: a pattern for the whole output.
  EXPECT_FALSE(check(m(K::Matches, R"(\A(line \d+\n)+\z)"), out));
}

// Refused at load (step_parser) with the reason; here the reason itself.
TEST(Matcher, RegexErrorNamesWhatRe2Refuses) {
  EXPECT_FALSE(regex_error(R"(^LISTEN\s+\d+)"));
  const auto backref = regex_error(R"(^(\w+) \1$)");
  ASSERT_TRUE(backref);
  EXPECT_EQ(backref->message.rfind("backreferences (\\1) are not supported", 0), 0u)
      << backref->message;
  EXPECT_EQ(backref->offset, 7u);
  const auto ahead = regex_error("etcd(?=ctl)");
  ASSERT_TRUE(ahead);
  EXPECT_EQ(ahead->message.rfind("lookaround and named groups ((?=...) are not supported", 0), 0u)
      << ahead->message;
  EXPECT_EQ(ahead->offset, 4u);
  const auto behind = regex_error("(?<!x)y");
  ASSERT_TRUE(behind);
  EXPECT_NE(behind->message.find("not supported"), std::string::npos) << behind->message;
  const auto open = regex_error("a(b");
  ASSERT_TRUE(open);
  EXPECT_NE(open->message.find("missing )"), std::string::npos) << open->message;
}

TEST(Matcher, LinesAreExact) {
  TextMatcher t;
  t.kind = K::Lines;
  t.lines = {"total 24K", "-rw-r----- 1 etcd etcd 21K etcd-snapshot.db"};
  EXPECT_FALSE(check(t, "total 24K\n-rw-r----- 1 etcd etcd 21K etcd-snapshot.db\n"));
  EXPECT_TRUE(check(t, "total 24K\n"));
  EXPECT_TRUE(check(t, "total 24K\n-rw-r----- 1 etcd etcd 21K etcd-snapshot.db\nextra\n"));
  t.negate = true;
  EXPECT_TRUE(check(t, "total 24K\n-rw-r----- 1 etcd etcd 21K etcd-snapshot.db\n"));
  EXPECT_FALSE(check(t, "other\n"));
}

TEST(Matcher, JsonPaths) {
  const std::string out =
      R"({"header":{"cluster_id":3809212483738176867,"revision":5,"raft_term":2},)"
      R"("members":[{"ID":635524117151252203,"name":"dcs-00","isLearner":false}]})";
  TextMatcher t;
  t.kind = K::Json;
  t.json = {{"header.revision", "5"}, {"members[0].name", "dcs-00"}, {"members.0.isLearner", "false"},
            {"header.cluster_id", "3809212483738176867"}};
  EXPECT_FALSE(check(t, out));
  t.json = {{"header.revision", "6"}};
  EXPECT_EQ(*check(t, out), "expected json header.revision = \"6\" (observed \"5\")");
  t.json = {{"header.nope", "1"}};
  EXPECT_NE(check(t, out)->find("no header.nope in the JSON output"), std::string::npos);
  EXPECT_NE(check(t, "Error: not json")->find("output is not JSON"), std::string::npos);
  t.negate = true;
  t.json = {{"header.revision", "6"}};
  EXPECT_FALSE(check(t, out));
  t.json = {{"header.revision", "5"}};
  EXPECT_EQ(*check(t, out), "expected json header.revision not = \"5\"");
}

TEST(Matcher, EvaluateLabelsStreamsAndExit) {
  Expectation e;
  e.out.push_back(m(K::Contains, "Authentication Status: true"));
  e.err.push_back(m(K::Contains, "user name not found", true));
  CommandResult ok{0, "Authentication Status: true\nAuthRevision: 5\n", ""};
  EXPECT_TRUE(evaluate(e, ok).empty());
  CommandResult bad{1, "", "Error: etcdserver: user name not found\n"};
  const auto f = evaluate(e, bad);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "exit: expected 0, observed 1");
  EXPECT_EQ(f[1], "stdout: expected to contain \"Authentication Status: true\"");
  EXPECT_EQ(f[2], "stderr: expected not to contain \"user name not found\"");
  e = Expectation{};
  e.exit.kind = ExitExpect::Kind::Nonzero;
  EXPECT_TRUE(evaluate(e, bad).empty());
  EXPECT_EQ(evaluate(e, ok).front(), "exit: expected nonzero, observed 0");
  e.exit = {ExitExpect::Kind::Code, 3};
  EXPECT_TRUE(evaluate(e, CommandResult{3, "", ""}).empty());
  e.exit.kind = ExitExpect::Kind::Any;
  EXPECT_TRUE(evaluate(e, CommandResult{42, "", ""}).empty());
}

TEST(Matcher, ExpandEscapesValuesInsideRegexOnly) {
  const Lab lab = load_lab(source_dir() / "fixtures/labs/dcs.yaml");
  TemplateValues v{&lab, lab.find_node("dcs-00"), nullptr, nullptr};
  const TextMatcher re = expand(m(K::Matches, R"(^{{ node.ip }}\s)"), v);
  EXPECT_EQ(re.text, R"(^192\.168\.56\.10\s)");
  EXPECT_FALSE(check(re, "192.168.56.10   dcs-00\n"));
  EXPECT_TRUE(check(re, "192x168.56.10   dcs-00\n"));  // a dot matches only a dot
  EXPECT_EQ(expand(m(K::Contains, "{{ node.ip }}"), v).text, "192.168.56.10");
}

TEST(Matcher, KeysRoundTrip) {
  for (const auto& k : matcher_keys()) {
    TextMatcher t;
    ASSERT_TRUE(parse_matcher_key(k, &t.kind, &t.negate)) << k;
    EXPECT_EQ(matcher_key(t), k);
  }
  TextMatcher t;
  EXPECT_FALSE(parse_matcher_key("contain", &t.kind, &t.negate));
}

}  // namespace
}  // namespace dcslab
