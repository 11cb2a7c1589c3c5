#include "scenario/version_guard.h"

#include <gtest/gtest.h>

namespace dcslab {
namespace {

VersionGuard guard(const std::string& text) {
  VersionGuardError e;
  auto g = parse_version_guard(text, &e);
  EXPECT_TRUE(g) << text << ": " << e.message;
  return g ? *g : VersionGuard{};
}

VersionGuardError guard_error(const std::string& text) {
  VersionGuardError e;
  EXPECT_FALSE(parse_version_guard(text, &e)) << text;
  return e;
}

TEST(VersionGuard, ParsesEveryOperator) {
  EXPECT_EQ(guard("etcd == 3.5").op, VersionOp::Eq);
  EXPECT_EQ(guard("etcd != 3.5").op, VersionOp::Ne);
  EXPECT_EQ(guard("etcd < 3.5").op, VersionOp::Lt);
  EXPECT_EQ(guard("etcd <= 3.5").op, VersionOp::Le);
  EXPECT_EQ(guard("etcd > 3.5").op, VersionOp::Gt);
  EXPECT_EQ(guard("etcd >= 3.5").op, VersionOp::Ge);
  const auto g = guard("  etcd>=3.4.23 ");
  EXPECT_EQ(g.version, (std::vector<int>{3, 4, 23}));
  EXPECT_EQ(g.text, "etcd >= 3.4.23");
}

TEST(VersionGuard, ComparesNumericallyAtTheGuardsPrecision) {
  const std::vector<int> v3423{3, 4, 23}, v3516{3, 5, 16}, v3530{3, 5, 30}, v3_10{3, 10, 0};
  EXPECT_TRUE(guard("etcd >= 3.5").holds(v3516));
  EXPECT_FALSE(guard("etcd >= 3.5").holds(v3423));
  EXPECT_TRUE(guard("etcd < 3.5").holds(v3423));
  EXPECT_FALSE(guard("etcd < 3.5").holds(v3516));
  // Numerically, not as text: 3.10 is above 3.5.
  EXPECT_TRUE(guard("etcd > 3.5").holds(v3_10));
  EXPECT_TRUE(guard("etcd >= 3.9").holds(v3_10));
  // At the guard's precision: 3.5.16 is in the 3.5 series.
  EXPECT_TRUE(guard("etcd == 3.5").holds(v3516));
  EXPECT_FALSE(guard("etcd != 3.5").holds(v3516));
  EXPECT_TRUE(guard("etcd <= 3.4").holds(v3423));
  EXPECT_FALSE(guard("etcd > 3.5").holds(v3530));
  EXPECT_TRUE(guard("etcd == 3").holds(v3423));
  // Patch levels when written.
  EXPECT_TRUE(guard("etcd >= 3.5.16").holds(v3516));
  EXPECT_FALSE(guard("etcd >= 3.5.17").holds(v3516));
  EXPECT_TRUE(guard("etcd > 3.5.16").holds(v3530));
  EXPECT_TRUE(guard("etcd != 3.4.23").holds(v3516));
  EXPECT_FALSE(guard("etcd != 3.4.23").holds(v3423));
  // A missing component counts as 0.
  EXPECT_TRUE(guard("etcd == 3.5.0").holds(std::vector<int>{3, 5}));
}

TEST(VersionGuard, ErrorsSayWhatIsWrongAndWhere) {
  auto e = guard_error("postgres >= 15");
  EXPECT_EQ(e.offset, 0u);
  EXPECT_EQ(e.message, "unknown subject \"postgres\" (valid: etcd)");
  e = guard_error("etcd = 3.5");
  EXPECT_EQ(e.offset, 5u);
  EXPECT_EQ(e.message, "\"=\" is not an operator (valid: ==, !=, <, <=, >, >=)");
  e = guard_error("etcd 3.5");
  EXPECT_EQ(e.offset, 5u);
  EXPECT_EQ(e.message, "expected an operator (valid: ==, !=, <, <=, >, >=)");
  e = guard_error("etcd >= 3.x");
  EXPECT_EQ(e.offset, 8u);
  EXPECT_EQ(e.message, "\"3.x\" is not a version (digits separated by dots, e.g. 3.5 or 3.4.23)");
  e = guard_error("etcd >= ");
  EXPECT_EQ(e.offset, 8u);
  EXPECT_NE(e.message.find("expected a version after >="), std::string::npos);
  e = guard_error("etcd >= 3.5 and more");
  EXPECT_EQ(e.offset, 8u);
  e = guard_error("");
  EXPECT_NE(e.message.find("expected SUBJECT OPERATOR VERSION"), std::string::npos);
  guard_error("etcd >= 3..5");
  guard_error("etcd >= .5");
  guard_error("etcd >= 1.2.3.4.5");
}

TEST(VersionGuard, UpstreamVersionDropsEpochAndDebianRevision) {
  EXPECT_EQ(upstream_version("3.4.23-4+b5"), "3.4.23");
  EXPECT_EQ(upstream_version("3.5.16-4"), "3.5.16");
  EXPECT_EQ(upstream_version("1:3.5.16-4"), "3.5.16");
  EXPECT_EQ(upstream_version("3.5.16+dfsg-1~bpo12+1"), "3.5.16");
  EXPECT_EQ(upstream_version("3.5.16"), "3.5.16");
}

TEST(VersionGuard, ProbePrefersTheInstalledPackage) {
  auto v = parse_etcd_version_probe(
      "dpkg: ii |3.4.23-4+b5\n"
      "etcd-server:\n  Installed: 3.4.23-4+b5\n  Candidate: 3.5.16-4\n  Version table:\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->version, "3.4.23");
  EXPECT_EQ(v->source, "installed");
}

TEST(VersionGuard, ProbeFallsBackToAptsCandidate) {
  // Not installed at all: dpkg-query prints nothing.
  auto v = parse_etcd_version_probe(
      "etcd-server:\n  Installed: (none)\n  Candidate: 3.5.16-4\n  Version table:\n"
      "     3.5.16-4 500\n        500 file:/var/local/dcslab-repo ./ Packages\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->version, "3.5.16");
  EXPECT_EQ(v->source, "apt candidate");
  // Removed, its configuration left ("rc"): not installed.
  v = parse_etcd_version_probe("dpkg: rc |3.4.23-4+b5\netcd-server:\n  Candidate: 3.4.23-4+b5\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->source, "apt candidate");
}

TEST(VersionGuard, ProbeBeforeTheFirstAptUpdateReadsTheLocalRepository) {
  // apt has no lists yet: apt-cache policy prints nothing.
  auto v = parse_etcd_version_probe("repo: 3.5.16-4\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->version, "3.5.16");
  EXPECT_EQ(v->source, "local repository");
  // apt's candidate, once known, wins.
  v = parse_etcd_version_probe("etcd-server:\n  Candidate: 3.4.23-4+b5\nrepo: 3.5.16-4\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->source, "apt candidate");
}

TEST(VersionGuard, ProbeWithNoEtcdIsNotFound) {
  auto v = parse_etcd_version_probe("etcd-server:\n  Installed: (none)\n  Candidate: (none)\n");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().kind, Failure::Kind::NotFound);
  EXPECT_FALSE(parse_etcd_version_probe(""));
}

}  // namespace
}  // namespace dcslab
