// Times the linearizability checker (harness/check/) for bench/checker.sh:
//   dcslab_checker_bench synthetic [--ops N] [--clients C] [--keys K] [--seed S]
//                                  [--no-revisions] [--stale]
//   dcslab_checker_bench jepsen DIR      every file of DIR/verdicts.tsv against its verdict
//   dcslab_checker_bench file PATH [dcslab|jepsen]
// Each prints one "key=value" line per measurement (what the script parses) and exits 1
// when a verdict is not the expected one: a fast wrong checker is not measured.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "base/error.h"
#include "check/history_file.h"
#include "check/jepsen_log.h"
#include "check/linearizability.h"
#include "check/synthetic.h"

namespace {

using namespace dcslab;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

CheckBudget no_limit() {
  CheckBudget b;
  b.time = std::chrono::milliseconds(0);
  return b;
}

int synthetic(int argc, char** argv) {
  SyntheticOptions o;
  bool stale = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw BadInput(a + ": needs a value");
      return argv[++i];
    };
    if (a == "--ops") o.ops = std::stoi(next());
    else if (a == "--clients") o.clients = std::stoi(next());
    else if (a == "--keys") o.keys = std::stoi(next());
    else if (a == "--seed") o.seed = std::stoull(next());
    else if (a == "--no-revisions") o.revisions = false;
    else if (a == "--stale") stale = true;
    else throw BadInput("unknown option " + a);
  }
  KvHistory h = synthetic_history(o);
  if (stale && !make_one_read_stale(h)) throw BadInput("no read could be made stale");
  const auto t0 = std::chrono::steady_clock::now();
  const LinearizabilityResult r = check_linearizable(h, no_limit());
  const double s = seconds_since(t0);
  std::printf("ops=%zu clients=%d keys=%d seed=%llu verdict=\"%s\" seconds=%.4f steps=%llu\n", h.ops.size(),
              o.clients, o.keys, static_cast<unsigned long long>(o.seed), verdict_name(r.verdict), s,
              static_cast<unsigned long long>(r.steps));
  if (stale && !r.violations.empty()) std::fputs(r.violations.front().explanation.c_str(), stderr);
  const Verdict want = stale ? Verdict::NotLinearizable : Verdict::Linearizable;
  return r.verdict == want ? 0 : 1;
}

int jepsen(const std::string& dir) {
  std::ifstream tsv(dir + "/verdicts.tsv");
  if (!tsv) throw BadInput(dir + "/verdicts.tsv: cannot read");
  int files = 0, agree = 0;
  double total = 0;
  for (std::string line; std::getline(tsv, line);) {
    std::istringstream ls(line);
    std::string file, want;
    if (!(ls >> file >> want)) continue;
    const KvHistory h = read_jepsen_log_file(dir + "/" + file);
    const auto t0 = std::chrono::steady_clock::now();
    const LinearizabilityResult r = check_linearizable(h, no_limit());
    const double s = seconds_since(t0);
    total += s;
    const std::string got = r.verdict == Verdict::Linearizable      ? "linearizable"
                            : r.verdict == Verdict::NotLinearizable ? "not-linearizable"
                                                                    : "undecided";
    ++files;
    agree += got == want;
    std::printf("file=%s ops=%zu want=%s got=%s seconds=%.5f steps=%llu\n", file.c_str(), h.ops.size(),
                want.c_str(), got.c_str(), s, static_cast<unsigned long long>(r.steps));
  }
  std::printf("files=%d agree=%d seconds=%.4f\n", files, agree, total);
  return files > 0 && agree == files ? 0 : 1;
}

int file(int argc, char** argv) {
  if (argc < 3) throw BadInput("file: needs a path");
  const HistoryFormat f = argc > 3 ? parse_history_format(argv[3]) : HistoryFormat::Auto;
  const auto t0 = std::chrono::steady_clock::now();
  const CheckVerdict v = check_history_file(argv[2], f, no_limit());
  std::fputs(v.text.c_str(), stdout);
  std::printf("seconds=%.4f\n", seconds_since(t0));
  return v.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string what = argc > 1 ? argv[1] : "";
    if (what == "synthetic") return synthetic(argc, argv);
    if (what == "jepsen" && argc > 2) return jepsen(argv[2]);
    if (what == "file") return file(argc, argv);
    std::fprintf(stderr, "usage: %s synthetic [options] | jepsen DIR | file PATH [dcslab|jepsen]\n", argv[0]);
    return 2;
  } catch (const BadInput& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
