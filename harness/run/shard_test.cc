#include "run/shard.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "base/error.h"

namespace dcslab {
namespace {

TEST(ShardTest, ParsesKOfN) {
  EXPECT_EQ(parse_shard("1/1").index, 1);
  EXPECT_EQ(parse_shard("3/4").index, 3);
  EXPECT_EQ(parse_shard("3/4").count, 4);
  EXPECT_EQ(parse_shard("256/256").count, 256);
  EXPECT_EQ(parse_shard("2/5").text(), "2/5");
  for (const std::string bad : {"", "/", "1/", "/2", "0/2", "3/2", "1/0", "1/257", "x/2", "1/2/3", " 1/2", "+1/2"}) {
    try {
      parse_shard(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const BadInput& e) {
      EXPECT_NE(std::string(e.what()).find("--shard"), std::string::npos) << e.what();
    }
  }
}

// a <- b <- c (a chain), d <- e, f alone, and g, h both requiring x, which is not selected.
const std::map<std::string, std::vector<std::string>> kRequires = {
    {"a", {}}, {"b", {"a"}}, {"c", {"b"}}, {"d", {}}, {"e", {"d"}},
    {"f", {}}, {"g", {"x"}}, {"h", {"x"}}, {"x", {}}};
const std::vector<std::string> kSelected = {"a", "b", "c", "d", "e", "f", "g", "h"};

std::vector<std::vector<std::string>> slices(int n) {
  return shard_scenarios(
      kSelected, [](const std::string& s) -> const std::vector<std::string>& { return kRequires.at(s); },
      [](const std::string& s) { return s == "x" ? 5.0 : 1.0; }, n);
}

TEST(ShardTest, TheSlicesAreTheSelectionOnceWithRelatedScenariosTogether) {
  for (int n = 1; n <= 10; ++n) {
    const auto sl = slices(n);
    ASSERT_EQ(sl.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(slices(n), sl) << "not deterministic";
    std::map<std::string, int> shard_of;
    for (int k = 0; k < n; ++k)
      for (const auto& s : sl[k]) EXPECT_TRUE(shard_of.emplace(s, k).second) << s << " twice, n=" << n;
    EXPECT_EQ(shard_of.size(), kSelected.size());
    EXPECT_FALSE(shard_of.count("x"));  // a requirement only: each shard runs it as needed
    EXPECT_EQ(shard_of["a"], shard_of["b"]);
    EXPECT_EQ(shard_of["b"], shard_of["c"]);
    EXPECT_EQ(shard_of["d"], shard_of["e"]);
    // Each slice keeps the selection's order.
    for (const auto& s : sl)
      for (std::size_t i = 1; i < s.size(); ++i) EXPECT_LT(s[i - 1], s[i]);
    std::size_t empty = 0;
    for (const auto& s : sl) empty += s.empty() ? 1 : 0;
    EXPECT_EQ(empty, n > 5 ? static_cast<std::size_t>(n - 5) : 0u) << n;  // 5 groups
  }
  // Balanced by cost (a requirement counted once per shard): g and h each cost 6 with x,
  // so they go apart, and the rest evens the two out at 9 each.
  const auto two = slices(2);
  EXPECT_EQ(two[0], (std::vector<std::string>{"a", "b", "c", "g"}));
  EXPECT_EQ(two[1], (std::vector<std::string>{"d", "e", "f", "h"}));
}

TEST(ShardTest, CellsAreDealtEveryNth) {
  EXPECT_EQ(shard_cells(5, {1, 2}), (std::vector<std::size_t>{0, 2, 4}));
  EXPECT_EQ(shard_cells(5, {2, 2}), (std::vector<std::size_t>{1, 3}));
  EXPECT_TRUE(shard_cells(2, {3, 3}).empty());
  for (std::size_t cells = 0; cells <= 7; ++cells)
    for (int n = 1; n <= 6; ++n) {
      std::multiset<std::size_t> all;
      for (int k = 1; k <= n; ++k)
        for (auto i : shard_cells(cells, {k, n})) all.insert(i);
      EXPECT_EQ(all.size(), cells);
      for (std::size_t i = 0; i < cells; ++i) EXPECT_EQ(all.count(i), 1u);
    }
}

TEST(ShardTest, DigestAndSeedDependOnlyOnTheRun) {
  EXPECT_EQ(run_digest({"scenario a 01", "scenario b 02"}), run_digest({"scenario a 01", "scenario b 02"}));
  EXPECT_NE(run_digest({"scenario a 01", "scenario b 02"}), run_digest({"scenario b 02", "scenario a 01"}));
  EXPECT_NE(run_digest({"ab"}), run_digest({"a", "b"}));
  const std::string d = run_digest({"x"});
  EXPECT_EQ(shard_seed(d), shard_seed(d));
  EXPECT_NE(shard_seed(d), shard_seed(run_digest({"y"})));
  EXPECT_LT(shard_seed(d), 1ULL << 53);
}

}  // namespace
}  // namespace dcslab
