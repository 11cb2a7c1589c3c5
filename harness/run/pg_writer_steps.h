// The scenario actions `pg_writer` and `check_pg_writes`, for the runner: a named
// background PostgreSQL writer (pg/pg_writer.h) per scenario, with a Patroni role sampler
// (pg/role_sampler.h) on the same clock, started and stopped by steps, and the check of
// its history once the faults are over (pg/pg_history.h).
//
// Both talk from dcslab itself: libpq with one multi-host connection string
// (target_session_attrs=read-write) and plain HTTP to each node's REST API. They connect
// from this process's network namespace, which is the lab's when the lab is isolated
// (dcslab enters it before any thread starts), as the etcd writer does.
//
// A fault step marks a fault window on every running writer (mark_faults), so the check
// reports each fault's unavailability and recovery.
//
// check_pg_writes writes two artifacts: pg-writes-<scenario>-<name>.json (the history
// with its verdict) and pg-roles-<scenario>-<name>.json (the role timeline).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/redact.h"
#include "pg/pg_writer.h"
#include "pg/role_sampler.h"
#include "scenario/scenario.h"
#include "scenario/template.h"
#include "ssh/transport.h"

namespace dcslab {

class PgWriters {
 public:
  explicit PgWriters(Clock& clock) : clock_(clock) {}
  ~PgWriters();
  PgWriters(const PgWriters&) = delete;
  PgWriters& operator=(const PgWriters&) = delete;

  // pg_writer: {start: ...}: the table made (a writer that cannot write fails here, before
  // any fault), then the threads. The password is added to `redactor`.
  Expected<CommandResult> start(const PgWriterSpec& spec, const TemplateValues& tv,
                                Redactor& redactor, std::string* command);
  // Tests: as start(), over given seams (a fake client and REST API).
  Expected<CommandResult> start_with(const PgWriterSpec& spec, const TemplateValues& tv,
                                     std::shared_ptr<PgClient> client,
                                     std::shared_ptr<PatroniApi> api, std::string* command);
  // pg_writer: {stop: NAME}: the threads end; the history is kept for check_pg_writes.
  Expected<CommandResult> stop(const PgWriterSpec& spec, std::string* command);
  // check_pg_writes: exit status 0 when the history passes; out: the verdict, the
  // unavailability figures and the role timeline's changes; *failures: what did not hold.
  Expected<CommandResult> check(const CheckPgWritesSpec& spec, const std::string& scenario,
                                const std::filesystem::path& artifacts_dir,
                                const Redactor& redactor, std::string* command,
                                std::vector<std::string>* failures);

  // A fault window: now on every running writer's clock, and the mark once it is over.
  std::map<std::string, double> now_all();
  void mark_faults(const std::string& fault, const std::map<std::string, double>& started);

  // End of a scenario: stops every writer; the histories not checked are saved as they are.
  void stop_all(const std::string& scenario, const std::filesystem::path& artifacts_dir,
                const Redactor& redactor);

  static std::filesystem::path history_file(const std::filesystem::path& artifacts_dir,
                                            const std::string& scenario, const std::string& name);
  static std::filesystem::path roles_file(const std::filesystem::path& artifacts_dir,
                                          const std::string& scenario, const std::string& name);

 private:
  struct Entry {
    std::unique_ptr<PgWriter> writer;
    std::unique_ptr<RoleSampler> sampler;  // null: roles: false
    bool checked = false;
  };
  void save(const std::string& scenario, const std::string& name, Entry& e,
            const std::filesystem::path& artifacts_dir, const Redactor& redactor,
            const PgCheckResult* result);

  Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Entry> writers_;
};

}  // namespace dcslab
