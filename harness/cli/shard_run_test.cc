#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/paths.h"
#include "cli/report_command.h"
#include "cli/run_command.h"
#include "testing/fake_lab.h"

namespace dcslab {
namespace {

// dcslab run --shard K/N and dcslab report merge, on fake labs: each shard on a fresh
// lab of its own (a CI job of its own), the merge compared with the unsharded run.

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A report with what differs from run to run removed: timings and start times.
nlohmann::json without_timings(nlohmann::json j) {
  if (j.is_object()) {
    j.erase("seconds");
    j.erase("started_at");
    for (auto& [k, v] : j.items()) v = without_timings(v);
  } else if (j.is_array()) {
    for (auto& v : j) v = without_timings(v);
  }
  return j;
}

// JUnit XML read by a real parser, times and timestamps removed, saved again.
std::string junit_without_timings(const std::string& xml) {
  pugi::xml_document doc;
  const auto ok = doc.load_string(xml.c_str());
  EXPECT_TRUE(ok) << ok.description();
  std::vector<pugi::xml_node> todo{doc.document_element()};
  while (!todo.empty()) {
    auto n = todo.back();
    todo.pop_back();
    n.remove_attribute("time");
    n.remove_attribute("timestamp");
    for (auto c : n.children()) todo.push_back(c);
  }
  std::ostringstream s;
  doc.save(s);
  return s.str();
}

class ShardRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dcslab-shard-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    const std::string lab = "lab: " + (source_dir() / "fixtures/labs/dcs.yaml").string() + "\n";
    auto scenario = [&](const std::string& file, const std::string& name, const std::string& requires_) {
      write(dir_ / file, "name: " + name + "\n" + lab + (requires_.empty() ? "" : "requires: [" + requires_ + "]\n") +
                             "steps:\n  - {on: dcs-00, run: echo " + name + ", expect: {stdout: {equals: " +
                             name + "}}}\n  - {on: all, run: echo " + name + "-all}\n");
    };
    // base is not selected: three and four each require it (every shard that holds one
    // of them runs it); two requires one (always one shard). three fails.
    scenario("lib/10-base.yaml", "base", "");
    scenario("suite/10-one.yaml", "one", "");
    scenario("suite/20-two.yaml", "two", "one");
    scenario("suite/30-three.yaml", "three", "../lib/10-base.yaml");
    scenario("suite/40-four.yaml", "four", "../lib/10-base.yaml");
    scenario("suite/50-five.yaml", "five", "");
    for (const std::string n : {"base", "one", "two", "four", "five"}) script_.on("echo " + n + "\n", {0, n + "\n", ""});
    for (const std::string n : {"base", "one", "two", "four", "five"}) script_.on("echo " + n, {0, n + "\n", ""});
    script_.on("echo three", {0, "nope\n", ""});
    script_.on("-all", {0, "all\n", ""});
  }
  void TearDown() override { fs::remove_all(dir_); }

  // One run on fresh labs (a runner of its own): returns its exit status.
  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    const fs::path home = dir_ / ("home-" + std::to_string(++runs_));
    args.insert(args.end(), {"--artifacts", (dir_ / ("art-" + std::to_string(runs_))).string()});
    RunEnv env{out_, err_, progress_, clock_};
    return run_command(args, [&](const Lab& lab) -> std::unique_ptr<LabControl> {
      labs_.push_back(std::make_unique<FakeLabControl>(lab, home, script_));
      return std::make_unique<ForwardingLabControl>(*labs_.back());
    }, env);
  }

  int merge(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    try {
      return report_command(args, out_);
    } catch (const BadInput& e) {
      err_ << e.what();
      return 2;
    }
  }

  // Runs every shard of N (the same other arguments), merges them into `merged`; the
  // merge's exit status.
  int run_shards(int n, const std::vector<std::string>& args, const fs::path& merged) {
    std::vector<std::string> m{"merge", "-o", merged.string()};
    for (int k = 1; k <= n; ++k) {
      const fs::path json = dir_ / ("shard-" + std::to_string(k) + "-of-" + std::to_string(n) + ".json");
      std::vector<std::string> a = args;
      a.insert(a.end(), {"--shard", std::to_string(k) + "/" + std::to_string(n), "--json", json.string()});
      const int rc = run(a);
      EXPECT_TRUE(rc == 0 || rc == 1) << k << "/" << n << ": " << out_.str() << err_.str();
      m.push_back(json.string());
    }
    return merge(m);
  }

  fs::path dir_;
  FakeScript script_;
  std::vector<std::unique_ptr<FakeLabControl>> labs_;
  int runs_ = 0;
  std::ostringstream out_, err_;
  NullProgress progress_;
  FakeClock clock_;
};

TEST_F(ShardRunTest, TheMergedShardsAreTheUnshardedRunApartFromTimings) {
  const fs::path suite = dir_ / "suite";
  ASSERT_EQ(run({"--seed", "7", suite.string(), "--json", (dir_ / "whole.json").string(), "--junit",
                 (dir_ / "whole.xml").string()}),
            1)
      << out_.str() << err_.str();
  const auto whole = without_timings(nlohmann::json::parse(read(dir_ / "whole.json")));
  ASSERT_EQ(whole["scenarios"].size(), 6u);  // one, two, base, three, four, five
  EXPECT_FALSE(whole.contains("shard"));
  const std::string whole_junit = junit_without_timings(read(dir_ / "whole.xml"));
  for (int n = 1; n <= 6; ++n) {
    const fs::path merged = dir_ / ("merged-" + std::to_string(n));
    EXPECT_EQ(run_shards(n, {"--seed", "7", suite.string()}, merged), 1) << n << ": " << out_.str() << err_.str();
    EXPECT_NE(out_.str().find("merged " + std::to_string(n) + " shard"), std::string::npos) << out_.str();
    EXPECT_NE(out_.str().find("6 scenarios, 1 failed; exit status 1"), std::string::npos) << out_.str();
    EXPECT_EQ(without_timings(nlohmann::json::parse(read(merged / "report.json"))), whole) << n;
    EXPECT_EQ(junit_without_timings(read(merged / "junit.xml")), whole_junit) << n;
    EXPECT_TRUE(fs::exists(merged / "transcript.md"));
  }
}

TEST_F(ShardRunTest, EachSelectedScenarioRunsInOneShardAndARequirementWhereNeeded) {
  const fs::path suite = dir_ / "suite";
  std::multiset<std::string> ran;  // scenarios, over all shards of 3
  for (int k = 1; k <= 3; ++k) {
    const std::size_t before = script_.requests_matching("echo ").size();
    run({"--seed", "7", suite.string(), "--shard", std::to_string(k) + "/3"});
    const auto reqs = script_.requests_matching("echo ");
    for (std::size_t i = before; i < reqs.size(); ++i)
      if (reqs[i].node == "dcs-00" && reqs[i].command.find("-all") == std::string::npos)
        ran.insert(reqs[i].command.substr(5));
  }
  for (const std::string n : {"one", "two", "three", "four", "five"}) EXPECT_EQ(ran.count(n), 1u) << n;
  EXPECT_GE(ran.count("base"), 1u);  // once per shard holding three or four
  EXPECT_LE(ran.count("base"), 2u);
}

TEST_F(ShardRunTest, AnEmptyShardSaysSoAndStillWritesItsReport) {
  // one+two, three, four, five: 4 groups; shard 6/6 has none.
  EXPECT_EQ(run({(dir_ / "suite").string(), "--shard", "6/6", "--json", (dir_ / "s6.json").string()}), 0)
      << err_.str();
  EXPECT_NE(out_.str().find("shard 6/6: empty: the run's 5 scenarios make 4 groups"), std::string::npos)
      << out_.str();
  EXPECT_TRUE(labs_.empty());  // no lab for nothing
  const auto j = nlohmann::json::parse(read(dir_ / "s6.json"));
  EXPECT_EQ(j["shard"]["index"], 6);
  EXPECT_EQ(j["shard"]["count"], 6);
  EXPECT_TRUE(j["shard"]["slice"].empty());
  EXPECT_EQ(j["shard"]["order"].size(), 6u);  // base, one, two, three, four, five
}

TEST_F(ShardRunTest, BadShardArgumentsExit2NamingShard) {
  for (const std::string s : {"0/3", "4/3", "3", "1/0", "a/2", "1/2/3", "-1/2", "1/257", ""}) {
    EXPECT_EQ(run({(dir_ / "suite").string(), "--shard", s}), 2) << s;
    EXPECT_NE(err_.str().find("--shard"), std::string::npos) << s << ": " << err_.str();
  }
  EXPECT_EQ(run({(dir_ / "suite").string(), "--shard", "1/2", "--parallel", "2"}), 2);
  EXPECT_NE(err_.str().find("--shard and --parallel"), std::string::npos) << err_.str();
  EXPECT_TRUE(labs_.empty());
}

TEST_F(ShardRunTest, WithoutSeedEveryShardDerivesTheSameOne) {
  auto seed_line = [this] {
    const std::string out = out_.str();
    const auto at = out.find("\nseed ");
    return at == std::string::npos ? out : out.substr(at + 1, out.find('\n', at + 1) - at - 1);
  };
  run({(dir_ / "suite").string(), "--shard", "1/2", "--json", (dir_ / "a.json").string()});
  EXPECT_EQ(out_.str().rfind("shard 1/2: ", 0), 0u) << out_.str();  // the slice, first
  const std::string first = seed_line();
  run({(dir_ / "suite").string(), "--shard", "2/2", "--json", (dir_ / "b.json").string()});
  EXPECT_EQ(seed_line(), first);
  EXPECT_NE(first.find("the same on every shard"), std::string::npos) << first;
  EXPECT_EQ(merge({"merge", "--json", (dir_ / "m.json").string(), (dir_ / "a.json").string(),
                   (dir_ / "b.json").string()}),
            1)
      << err_.str();
}

TEST_F(ShardRunTest, MergeRefusesWhatIsNotOneWholeRunAndWritesNothing) {
  const fs::path suite = dir_ / "suite";
  std::vector<std::string> shard;
  for (int k = 1; k <= 3; ++k) {
    shard.push_back((dir_ / ("s" + std::to_string(k) + ".json")).string());
    run({"--seed", "7", suite.string(), "--shard", std::to_string(k) + "/3", "--json", shard.back()});
  }
  run({"--seed", "8", suite.string(), "--shard", "3/3", "--json", (dir_ / "seed8.json").string()});
  run({"--seed", "7", suite.string(), "--shard", "2/2", "--json", (dir_ / "of2.json").string()});
  run({"--seed", "7", suite.string(), "--json", (dir_ / "whole.json").string(), "--junit",
       (dir_ / "whole.xml").string()});
  write(dir_ / "other.json", "{\"hello\": 1}\n");
  // Another run: a scenario's file changed.
  write(suite / "50-five.yaml", read(suite / "50-five.yaml") + "# changed\n");
  run({"--seed", "7", suite.string(), "--shard", "3/3", "--json", (dir_ / "changed.json").string()});

  const std::string out = (dir_ / "out").string();
  struct Case {
    std::vector<std::string> inputs;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{shard[0], shard[1]}, "shard 3/3 missing"},
      {{shard[0], shard[1], shard[1], shard[2]}, "s2.json: shard 2/3 again (also " + shard[1] + ")"},
      {{shard[0], shard[1], (dir_ / "seed8.json").string()}, "seed8.json: seed 8, but " + shard[0] + " has seed 7"},
      {{shard[0], shard[1], (dir_ / "changed.json").string()}, "changed.json: shard of another run"},
      {{shard[0], shard[1], (dir_ / "of2.json").string()}, "of2.json: shard 2/2: another number of shards"},
      {{shard[0], shard[1], (dir_ / "whole.json").string()}, "whole.json: not a shard's report"},
      {{shard[0], (dir_ / "whole.xml").string()}, "whole.xml: an XML file, not a dcslab JSON report"},
      {{(dir_ / "other.json").string()}, "other.json: not a dcslab JSON report"},
      {{(dir_ / "nothing.json").string()}, "nothing.json: cannot read"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"merge", "-o", out};
    args.insert(args.end(), c.inputs.begin(), c.inputs.end());
    EXPECT_EQ(merge(args), 2) << c.error;
    EXPECT_NE(err_.str().find(c.error), std::string::npos) << err_.str();
    EXPECT_FALSE(fs::exists(out)) << c.error;
  }
  EXPECT_THROW(report_command({"merge", shard[0]}, out_), BadInput);  // no output given
  EXPECT_THROW(report_command({"join", "-o", out, shard[0]}, out_), BadInput);
  EXPECT_EQ(merge({"merge", "-o", out, shard[2], shard[0], shard[1]}), 1) << err_.str();  // any order
}

TEST_F(ShardRunTest, AMatrixShardsWholeCellsAndMergesBackToTheMatrix) {
  const fs::path suite = dir_ / "suite";
  const std::vector<std::string> args{"--seed", "7", "--matrix", "suite=bookworm,trixie,forky", suite.string()};
  std::vector<std::string> whole_args = args;
  whole_args.insert(whole_args.end(), {"--json", (dir_ / "whole.json").string(), "--junit", (dir_ / "whole.xml").string()});
  ASSERT_EQ(run(whole_args), 1) << out_.str() << err_.str();
  const auto whole = without_timings(nlohmann::json::parse(read(dir_ / "whole.json")));
  ASSERT_EQ(whole["cells"].size(), 3u);
  const std::string whole_junit = junit_without_timings(read(dir_ / "whole.xml"));
  for (int n = 1; n <= 4; ++n) {  // 4: one shard without a cell
    const std::size_t labs_before = labs_.size();
    const fs::path merged = dir_ / ("merged-" + std::to_string(n));
    EXPECT_EQ(run_shards(n, args, merged), 1) << n << ": " << out_.str() << err_.str();
    EXPECT_EQ(labs_.size() - labs_before, 3u) << n;  // each cell's lab once over the shards
    EXPECT_EQ(without_timings(nlohmann::json::parse(read(merged / "report.json"))), whole) << n;
    EXPECT_EQ(junit_without_timings(read(merged / "junit.xml")), whole_junit) << n;
  }
  // A cell of another seed is another run.
  std::vector<std::string> other = args;
  other[1] = "8";
  other.insert(other.end(), {"--shard", "2/2", "--json", (dir_ / "seed8.json").string()});
  run(other);
  EXPECT_EQ(merge({"merge", "-o", (dir_ / "out").string(), (dir_ / "shard-1-of-2.json").string(),
                   (dir_ / "seed8.json").string()}),
            2);
  EXPECT_NE(err_.str().find("seed8.json: seed 8, but"), std::string::npos) << err_.str();
  // A matrix's shard is not a plain run's.
  run({"--seed", "7", suite.string(), "--shard", "2/2", "--json", (dir_ / "plain.json").string()});
  EXPECT_EQ(merge({"merge", "-o", (dir_ / "out").string(), (dir_ / "shard-1-of-2.json").string(),
                   (dir_ / "plain.json").string()}),
            2);
  EXPECT_NE(err_.str().find("plain.json: a plain run's shard"), std::string::npos) << err_.str();
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

// The slices of real scenario folders, as `run --list --shard K/N` shows them.
class ShardListTest : public ::testing::Test {
 protected:
  std::string list(std::vector<std::string> args) {
    std::ostringstream out, err;
    NullProgress progress;
    FakeClock clock;
    RunEnv env{out, err, progress, clock};
    args.insert(args.begin(), "--list");
    const int rc = run_command(args, [](const Lab&) -> std::unique_ptr<LabControl> {
      ADD_FAILURE() << "--list brought a lab up";
      return nullptr;
    }, env);
    EXPECT_EQ(rc, 0) << err.str();
    return out.str();
  }
  // Each listed scenario and what it requires, from the listing.
  static std::map<std::string, std::vector<std::string>> listed(const std::string& text) {
    std::map<std::string, std::vector<std::string>> m;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == ' ' || line.rfind("shard ", 0) == 0) continue;
      const std::string name = line.substr(0, line.find(' '));
      auto& req = m[name];
      const auto at = line.find("requires: ");
      if (at == std::string::npos) continue;
      std::istringstream words(line.substr(at + 10));
      for (std::string w; words >> w && w.back() != ':';) req.push_back(w);
    }
    return m;
  }
};

TEST_F(ShardListTest, TheShardsOfRealFoldersAreTheWholeRunWithoutOverlapRequiresTogether) {
  const fs::path s = source_dir() / "scenarios";
  const std::vector<std::vector<std::string>> runs = {
      {s.string()}, {(s / "seed").string()}, {(s / "faults").string()}, {(s / "upgrades").string()},
      {(s / "faults").string(), (s / "upgrades").string()}};
  for (const auto& paths : runs) {
    const auto whole = listed(list(paths));
    ASSERT_FALSE(whole.empty());
    for (int n = 1; n <= 6; ++n) {
      std::map<std::string, int> shard_of;
      for (int k = 1; k <= n; ++k) {
        std::vector<std::string> args = paths;
        args.insert(args.end(), {"--shard", std::to_string(k) + "/" + std::to_string(n)});
        const std::string text = list(args);
        if (k == 1) {
          EXPECT_EQ(list(args), text) << "not deterministic";
        }
        EXPECT_EQ(text.rfind("shard " + std::to_string(k) + "/" + std::to_string(n) + ": ", 0), 0u) << text;
        for (const auto& [name, req] : listed(text)) {
          EXPECT_TRUE(whole.count(name)) << name;
          EXPECT_TRUE(shard_of.emplace(name, k).second) << name << " in two shards of " << n;
        }
      }
      EXPECT_EQ(shard_of.size(), whole.size()) << paths.front() << " N=" << n;
      for (const auto& [name, req] : whole)
        for (const auto& r : req)
          if (whole.count(r)) {
            EXPECT_EQ(shard_of[name], shard_of[r]) << name << " requires " << r << ", N=" << n;
          }
    }
  }
}

TEST_F(ShardListTest, AMatrixListsTheShardsCells) {
  const std::string seed = (source_dir() / "scenarios/seed").string();
  std::multiset<std::string> cells;
  for (int k = 1; k <= 2; ++k) {
    const std::string text = list({"--matrix", "suite=bookworm,trixie,forky", seed, "--shard", std::to_string(k) + "/2"});
    const std::string first = text.substr(0, text.find('\n'));
    std::istringstream words(first.substr(first.find(": ", first.find("cells")) + 2));
    for (std::string w; words >> w;) cells.insert(w);
  }
  EXPECT_EQ(cells, (std::multiset<std::string>{"suite=bookworm", "suite=trixie", "suite=forky"}));
}

}  // namespace
}  // namespace dcslab
