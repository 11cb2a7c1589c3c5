// `dcslab run --shard K/N` and `dcslab report merge`: a CI system's own matrix (GitHub
// Actions strategy.matrix, GitLab parallel) as the distributed engine. Each of N jobs
// runs one deterministic slice of the run on a lab of its own; a last job merges their
// JSON reports into the report the run would have made on one machine.
//
// A slice never splits what must run together: a scenario goes with every selected
// scenario it is related to by requires (the groups of run --parallel, parallel.h's
// partition_scenarios, balanced by cost over N), so each selected scenario is in exactly
// one shard; a requirement that was not selected (scenarios/faults/* all require the
// seed chain) runs in every shard that needs it, as it does on every lab of --parallel,
// and the merge keeps one result of it (a failed one if any shard's failed). A matrix's
// slice is a set of whole cells (every N-th). The slices depend only on the run's
// inputs (files, --only/--tags, --matrix), never on time or chance, so every runner
// computes the same ones.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "report/report_model.h"
#include "run/parallel.h"

namespace dcslab {

struct ShardSpec {
  int index = 0;  // K, 1-based
  int count = 0;  // N; 0: the run is not sharded
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// "K/N" with 1 <= K <= N <= 256; throws BadInput naming --shard otherwise.
ShardSpec parse_shard(const std::string& text);

// Exactly `count` slices of `selected` (each in the order of `selected`); the groups
// beyond the number of independent groups are empty.
std::vector<std::vector<std::string>> shard_scenarios(const std::vector<std::string>& selected,
                                                      const RequiresOf& requires_of,
                                                      const std::function<double(const std::string&)>& cost,
                                                      int count);

// The indexes of the cells (of `cells`) in shard K of N: K-1, K-1+N, ...
std::vector<std::size_t> shard_cells(std::size_t cells, const ShardSpec& shard);

// What identifies a run across runners: the SHA-256 of its lines (each scenario in run
// order with its file's digest, each matrix cell).
std::string run_digest(const std::vector<std::string>& lines);

// A seed every shard of a run derives alike when --seed is not given: from the digest,
// below 2^53 so JSON keeps it a number.
std::uint64_t shard_seed(const std::string& digest);

// One shard's JSON report, as read from a file (the file names every error).
struct ShardReportFile {
  std::string file;
  std::string text;
};

struct MergedReports {
  bool matrix = false;
  int shards = 0;
  int items = 0;         // scenarios (a matrix: cells) in the merged report
  int failed = 0;        // of them, failed
  int exit_status = 0;   // the run's: the worst shard's (3, 1, 0)
  std::string run;       // the run's digest
  std::string json, junit, transcript;
};

// Merges the JSON reports of the N shards of one run into the reports of the whole run:
// scenarios (cells) in the unsharded order, counts summed, the exit status the worst.
// Throws BadInput naming the file: not a dcslab JSON report, not a shard's, a shard of
// another run (digest, seed, N or kind), a shard given twice; or naming the shards
// missing.
MergedReports merge_shard_reports(const std::vector<ShardReportFile>& inputs);

}  // namespace dcslab
