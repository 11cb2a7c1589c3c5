// The checker against results nobody on this project produced: the 52 Jepsen etcd
// histories of ../shared/histories/jepsen-etcd/ and the verdicts Porcupine's test suite
// asserts for them (verdicts.tsv). They are read where they are, never copied here.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/paths.h"
#include "check/jepsen_log.h"
#include "check/linearizability.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

// $DCSLAB_JEPSEN_HISTORIES, else shared/histories/jepsen-etcd beside the source tree or
// beside one of its ancestors (the checkout is /work/main, a worktree /work/wt/NAME:
// both find /work/shared).
fs::path histories() {
  if (const char* e = std::getenv("DCSLAB_JEPSEN_HISTORIES"); e && *e) return e;
  for (fs::path p = source_dir().parent_path(); !p.empty(); p = p.parent_path()) {
    const fs::path d = p / "shared" / "histories" / "jepsen-etcd";
    if (fs::exists(d / "verdicts.tsv")) return d;
    if (p == p.root_path()) break;
  }
  return source_dir().parent_path() / "shared" / "histories" / "jepsen-etcd";
}

TEST(JepsenHistories, TheCheckerAgreesWithEveryPublishedVerdict) {
  const fs::path dir = histories();
  std::ifstream tsv(dir / "verdicts.tsv");
  ASSERT_TRUE(tsv) << "the Jepsen etcd histories are read from " << dir
                   << " (verdicts.tsv missing); set DCSLAB_JEPSEN_HISTORIES to their folder";
  int files = 0, linearizable = 0, not_linearizable = 0;
  double seconds = 0;
  for (std::string line; std::getline(tsv, line);) {
    std::istringstream ls(line);
    std::string file, want;
    if (!(ls >> file >> want)) continue;
    ASSERT_TRUE(want == "linearizable" || want == "not-linearizable") << line;
    const KvHistory h = read_jepsen_log_file(dir / file);
    const auto t0 = std::chrono::steady_clock::now();
    const LinearizabilityResult r = check_linearizable(h);  // the default budget: 60 s
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++files;
    if (want == "linearizable") {
      ++linearizable;
      EXPECT_EQ(r.verdict, Verdict::Linearizable) << file << "\n" << r.report();
      EXPECT_TRUE(r.violations.empty()) << file;
    } else {
      ++not_linearizable;
      EXPECT_EQ(r.verdict, Verdict::NotLinearizable) << file << "\n" << r.report();
      ASSERT_FALSE(r.violations.empty()) << file;
      // Explained: the op whose return ends the shortest failing prefix, in words.
      const Violation& v = r.violations.front();
      EXPECT_TRUE(v.shortest) << file;
      EXPECT_LT(v.last, h.ops.size()) << file;
      EXPECT_NE(v.explanation.find(h.ops[v.last].name), std::string::npos) << file << "\n" << v.explanation;
      EXPECT_LE(v.prefix_ops, v.key_ops) << file;
    }
  }
  EXPECT_EQ(files, 52);
  EXPECT_EQ(linearizable, 11);
  EXPECT_EQ(not_linearizable, 41);
  std::cout << "[ checked  ] " << files << " Jepsen etcd histories in " << seconds << " s (" << dir.string()
            << ")\n";
  RecordProperty("seconds", std::to_string(seconds));
}

TEST(JepsenHistories, ALogCutShortIsStillRead) {
  // The last lines of a log lost: the ops still open never returned (info).
  const fs::path dir = histories();
  std::ifstream in(dir / "etcd_002.log");
  ASSERT_TRUE(in) << dir;
  std::string text, line;
  // Forty lines, then up to the next :invoke, so that some op is certainly left open.
  for (int i = 0; std::getline(in, line); ++i) {
    text += line + "\n";
    if (i >= 40 && line.find(":invoke") != std::string::npos) break;
  }
  const KvHistory h = read_jepsen_log(text, "etcd_002.log (cut)");
  int open = 0;
  for (const auto& op : h.ops) open += op.outcome == KvOutcome::Info;
  EXPECT_GT(open, 0);
  EXPECT_EQ(check_linearizable(h).verdict, Verdict::Linearizable);  // a prefix of a linearizable history
}

}  // namespace
}  // namespace dcslab
