// The scenario actions `writer` and `check_writes`, for the runner: a named background
// Writer (writer.h) per scenario, started and stopped by steps, and the check of its
// history once the faults are over.
//
// watcher starts watches of a writer's keys (etcd/watcher.h) through the same gateway, with
// the writer's TLS material and user; check_writes of that writer judges them too.
//
// check_writes stops the writer, reads every key it wrote back through every member
// (linearizable, retried until the check's timeout while a member restarts), takes each
// member's hash of the key space at one revision (HashKV where the gateway has it, else a
// SHA-256 of every key read from the member's own store at that revision), runs the
// checker and writes the history as JSON into the run's artifacts folder
// (writes-<scenario>-<name>.json), so a failure can be inspected.
//
// TLS: the CA and a client certificate come from the lab document's files on the node
// (`node:/etc/dcs/cert/ca.crt`), the lab PKI (`lab`) or local files. The gateway refuses
// client certificates with a Common Name once authentication is on (etcd_client.h), so by
// default dcslab makes its own key and a certificate without one (subject O=dcslab-writer,
// clientAuth), signed by the CA key named by sign_with: on a node it is signed there with
// openssl (the CA key never leaves the node), locally with OpenSSL's API.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/error.h"
#include "check/kv_history.h"
#include "check/linearizability.h"
#include "check/timeline_html.h"
#include "lab/fault.h"
#include "etcd/etcd_client.h"
#include "tls/pki.h"
#include "base/redact.h"
#include "scenario/scenario.h"
#include "lab/state.h"
#include "scenario/template.h"
#include "ssh/transport.h"
#include "etcd/watcher.h"
#include "etcd/writer.h"

namespace dcslab {

// The writer's client certificate: no Common Name (etcd_client.h), O=dcslab-writer,
// clientAuth, valid from an hour ago for two days (tls/pki.h issue_client_cert).
ClientCertOptions writer_cert_options();

// SHA-256 (hex) over every key-value pair as etcd returned them (key order): what
// members compare when the gateway has no HashKV.
std::string kv_digest(const std::vector<EtcdKv>& kvs);

// check_writes' model: linearizable, over a history: Linearizable passes; NotLinearizable
// fails with the checker's report (the shortest failing prefix, in words); Undecided
// fails too ("undecided"): a history nobody could decide is not a pass.
struct ModelCheck {
  LinearizabilityResult result;
  bool passed() const { return result.verdict == Verdict::Linearizable; }
  std::string report;                  // for the step's output: a headline, then the checker's report
  std::vector<std::string> failures;   // what did not hold, for the step's failures
};
ModelCheck check_model(const KvHistory& h, std::chrono::milliseconds budget, Clock* clock = nullptr);

// Whether starting the writer reads or signs anything on the step's node.
bool writer_needs_transport(const WriterSpec& spec);

// A fault step as a writer's clock saw it: the step ran from `from` to `to`.
struct FaultMark {
  FaultKind kind = FaultKind::Crash;
  std::string node;
  double from = 0, to = 0;
};

// Fault steps as shaded bands: a crash, pause or partition lasts until the start, resume
// or heal of its node (or the history's end, `end`); a kill is its step's own window.
// "dcs-01 crashed", "dcs-02 paused", "dcs-00 partitioned", "kill on dcs-01".
std::vector<TimelineBand> fault_bands(const std::vector<FaultMark>& marks, double end);

class Writers {
 public:
  Writers() = default;
  ~Writers();
  Writers(const Writers&) = delete;
  Writers& operator=(const Writers&) = delete;

  // writer: {start: ...}: TLS material, then the thread. `transport` reads node:/ files
  // and signs on the node (may be null when nothing is on a node). Keys and passwords
  // are added to `redactor`. *command describes it for reports.
  Expected<CommandResult> start(const WriterSpec& spec, const TemplateValues& tv, LabState& state,
                                Transport* transport, const std::filesystem::path& scenario_dir,
                                Redactor& redactor, std::string* command);
  // writer: {stop: NAME}: the thread ends; the history is kept for check_writes.
  Expected<CommandResult> stop(const WriterSpec& spec, std::string* command);
  // check_writes: exit status 0 when the history passes; out: counts, hashes, findings;
  // *failures: what did not hold. The history goes to artifacts_dir (when not empty).
  // The file: <artifacts_dir>/writes-<scenario>-<name>.json.
  Expected<CommandResult> check(const CheckWritesSpec& spec, const std::string& scenario,
                                const std::filesystem::path& artifacts_dir,
                                const Redactor& redactor, std::string* command,
                                std::vector<std::string>* failures);
  // watcher: {start: NAME, writer: W}: the watches, from the revision now + 1.
  Expected<CommandResult> start_watcher(const WatcherSpec& spec, std::string* command);
  // watcher: {stop: NAME}: the streams end; the record is kept for check_writes.
  Expected<CommandResult> stop_watcher(const WatcherSpec& spec, std::string* command);
  static std::filesystem::path watch_file(const std::filesystem::path& artifacts_dir,
                                          const std::string& scenario, const std::string& name);
  // End of a scenario: stops every writer; the histories not checked are saved as they are.
  void stop_all(const std::string& scenario, const std::filesystem::path& artifacts_dir,
                const Redactor& redactor);
  static std::filesystem::path history_file(const std::filesystem::path& artifacts_dir,
                                            const std::string& scenario, const std::string& name);
  // The history's picture beside it: <artifacts_dir>/writes-<scenario>-<name>.html
  // (check/timeline_html.h), written by check_writes with the findings and faults.
  static std::filesystem::path timeline_file(const std::filesystem::path& artifacts_dir,
                                             const std::string& scenario, const std::string& name);

  // A fault step's window on every running writer's clock: now_all() before the fault,
  // mark_faults() once it is over; the timeline shades what it did.
  std::map<std::string, double> now_all();
  void mark_faults(FaultKind kind, const std::string& node, const std::map<std::string, double>& started);

  // Tests: a writer over a given api (no TLS, no node), as start() would make it.
  // make_client: a watcher's clients (none: no watcher can watch this writer).
  void add_for_test(const std::string& name, std::unique_ptr<Writer> writer,
                    std::shared_ptr<EtcdClient> client, Watcher::MakeClient make_client = {});
  // Tests: the clock the linearizability checker's budget is measured on (default: real).
  void set_model_clock_for_test(Clock* clock) { model_clock_ = clock; }

 private:
  struct Entry {
    std::unique_ptr<Writer> writer;
    std::shared_ptr<EtcdClient> client;  // also the writer's api
    bool checked = false;
    std::vector<FaultMark> faults;
    Watcher::MakeClient make_client;     // a new client like the writer's, for a watch
  };
  struct WatcherEntry {
    std::string writer;
    std::unique_ptr<Watcher> watcher;
    bool checked = false;
  };
  // The watchers of `writer` at check_writes: caught up with its last write (or the
  // deadline), stopped, judged and saved. What the step prints of them; *passed.
  std::string check_watchers(const std::string& writer, const History& h, const std::string& scenario,
                             const std::filesystem::path& artifacts_dir, const Redactor& redactor,
                             Clock::time_point deadline, std::vector<std::string>* failures, bool* passed);
  std::mutex mu_;
  std::map<std::string, Entry> writers_;
  std::map<std::string, WatcherEntry> watchers_;  // stopped before the writers they watch
  Clock* model_clock_ = nullptr;
};

}  // namespace dcslab
