// Test doubles for the scenario runner: a Transport that records every request and
// answers from a script, and a LabControl over it. No VM, no network, no sleeping.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lab/lab_control.h"
#include "control/snapshot_ops.h"
#include "ssh/transport.h"

namespace dcslab {

struct FakeRequest {
  std::string node, user;
  std::string kind;     // exec | put | get
  std::string command;  // exec: the command; put/get: the path
  ExecOptions options;
  std::string content;  // put
  FileAttributes attrs;
  std::thread::id thread;
};

// Answers requests: the first rule whose node (empty: any) matches and whose needle is a
// substring of the command (or path) answers with its next response (the last one
// repeats). put stores content; get returns it unless a rule answers first.
class FakeScript {
 public:
  struct Rule {
    std::string node, needle;
    std::deque<Expected<CommandResult>> responses;
    int barrier = 0;  // > 0: the call waits until this many calls of the rule arrived
  };

  void on(const std::string& needle, CommandResult r, const std::string& node = "") {
    add(node, needle, {Expected<CommandResult>(std::move(r))});
  }
  void on_sequence(const std::string& needle, std::vector<CommandResult> rs,
                   const std::string& node = "") {
    std::deque<Expected<CommandResult>> d;
    for (auto& r : rs) d.emplace_back(std::move(r));
    add(node, needle, std::move(d));
  }
  void fail(const std::string& needle, Failure f, const std::string& node = "") {
    add(node, needle, {Expected<CommandResult>(std::move(f))});
  }
  // Calls matching `needle` block until `n` of them are in flight: proves they run in
  // parallel (a sequential runner would give up after the safety timeout).
  void barrier(const std::string& needle, int n) {
    std::lock_guard lock(mu_);
    for (auto& r : rules_)
      if (r.needle == needle) r.barrier = n;
  }

  // Commands matching `needle` run until cancelled, as a command that never ends would
  // over SSH: `started` is called once they run (a test interrupts the run there), and
  // the exec fails "interrupted" when options.cancelled() says so (10 s at most).
  void hang(const std::string& needle, std::function<void()> started) {
    std::lock_guard lock(mu_);
    hangs_.emplace_back(needle, std::move(started));
  }
  std::function<void()> hangs(const std::string& command) const {
    std::lock_guard lock(mu_);
    for (const auto& [needle, started] : hangs_)
      if (command.find(needle) != std::string::npos) return started;
    return nullptr;
  }

  Expected<CommandResult> answer(const FakeRequest& req) {
    std::unique_lock lock(mu_);
    requests_.push_back(req);
    if (req.kind == "put") {
      files_[req.node + ":" + req.command] = req.content;
      return CommandResult{0, "", ""};
    }
    for (auto& rule : rules_) {
      if (!rule.node.empty() && rule.node != req.node) continue;
      if (req.command.find(rule.needle) == std::string::npos) continue;
      if (rule.barrier > 0) {
        ++arrived_[&rule];
        cv_.notify_all();
        const bool all = cv_.wait_for(lock, std::chrono::seconds(10),
                                      [&] { return arrived_[&rule] >= rule.barrier; });
        if (!all) return Failure::timeout("barrier: the calls did not run in parallel");
      }
      Expected<CommandResult> r = rule.responses.front();
      if (rule.responses.size() > 1) rule.responses.pop_front();
      return r;
    }
    if (req.kind == "get") {
      auto it = files_.find(req.node + ":" + req.command);
      if (it == files_.end()) return Failure::not_found(req.command + ": no such file");
      return CommandResult{0, it->second, ""};
    }
    return CommandResult{127, "", "fake: no script for: " + req.command + "\n"};
  }

  void record(const FakeRequest& req) {
    std::lock_guard lock(mu_);
    requests_.push_back(req);
  }

  std::vector<FakeRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<FakeRequest> requests_matching(const std::string& needle) const {
    std::vector<FakeRequest> v;
    for (const auto& r : requests())
      if (r.command.find(needle) != std::string::npos) v.push_back(r);
    return v;
  }

 private:
  void add(const std::string& node, const std::string& needle,
           std::deque<Expected<CommandResult>> d) {
    std::lock_guard lock(mu_);
    rules_.push_back(Rule{node, needle, std::move(d), 0});
  }
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Rule> rules_;  // deque: stable addresses for arrived_
  std::map<const Rule*, int> arrived_;
  std::vector<FakeRequest> requests_;
  std::map<std::string, std::string> files_;
  std::vector<std::pair<std::string, std::function<void()>>> hangs_;
};

class FakeTransport : public Transport {
 public:
  FakeTransport(FakeScript& script, std::string node, std::string user)
      : script_(script), node_(std::move(node)), user_(std::move(user)) {}
  Expected<CommandResult> exec(const std::string& command, const ExecOptions& options) override {
    FakeRequest r{node_, user_, "exec", command, options, "", {}, std::this_thread::get_id()};
    if (auto started = script_.hangs(command)) {
      script_.record(r);
      started();
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < until) {
        if (options.cancelled && options.cancelled())
          return Failure::timeout("`" + command + "` on " + node_ + " interrupted");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      return Failure::timeout("`" + command + "` on " + node_ + " was never cancelled");
    }
    auto a = script_.answer(r);
    if (!a) return a;
    // Capped as SshTransport caps what the channel delivers.
    CommandResult kept;
    kept.exit_status = a->exit_status;
    append_capped(kept.out, kept.out_dropped, a->out, options.output_limit);
    append_capped(kept.err, kept.err_dropped, a->err, options.output_limit);
    return kept;
  }
  Expected<void> put(const std::string& content, const std::string& path,
                     const FileAttributes& attrs) override {
    FakeRequest r{node_, user_, "put", path, {}, content, attrs, std::this_thread::get_id()};
    auto a = script_.answer(r);
    if (!a) return a.error();
    return {};
  }
  Expected<std::string> get(const std::string& path) override {
    FakeRequest r{node_, user_, "get", path, {}, "", {}, std::this_thread::get_id()};
    auto a = script_.answer(r);
    if (!a) return a.error();
    return a->out;
  }

 private:
  FakeScript& script_;
  std::string node_, user_;
};

class FakeLabControl : public LabControl {
 public:
  FakeLabControl(Lab lab, std::filesystem::path home, FakeScript& script)
      : lab_(std::move(lab)), state_(std::move(home), lab_.name), script_(script) {}
  const Lab& lab() const override { return lab_; }
  LabState& state() override { return state_; }
  Expected<void> ensure_up(Progress&) override {
    std::lock_guard lock(mu_);
    ++ups;
    if (!up_failure.empty()) return Failure::error(up_failure);
    return {};
  }
  // Public here (protected in LabControl): a test's forwarding LabControl opens through it.
  Expected<std::shared_ptr<Transport>> open_session(const std::string& node,
                                                    const std::string& user) override {
    std::lock_guard lock(mu_);
    connects.push_back(node + "/" + user);
    if (unreachable.count(node)) return Failure::timeout(node + " does not answer SSH");
    return std::shared_ptr<Transport>(std::make_shared<FakeTransport>(script_, node, user));
  }
  Expected<void> reboot_node(const std::string& node, Progress&) override {
    std::lock_guard lock(mu_);
    reboots.push_back(node);
    return {};
  }
  Expected<void> inject_fault(const std::string& node, FaultKind kind, Progress&) override {
    std::lock_guard lock(mu_);
    faults.push_back(std::string(fault_name(kind)) + " " + node);
    if (auto it = fault_failures.find(faults.back()); it != fault_failures.end())
      return Failure::refused(it->second);
    return {};
  }
  std::filesystem::path console_log(const std::string& node) override {
    return state_.dir() / "nodes" / node / "console.log";
  }
  Expected<void> take_down(Progress&) override {
    std::lock_guard lock(mu_);
    ++downs;
    return {};
  }
  // Snapshots as snapshot_ops keeps them: the facts go with the snapshot.
  Expected<std::vector<std::string>> snapshots() override {
    std::lock_guard lock(mu_);
    snapshot_calls.push_back("list");
    if (!memory_snapshots) return Failure::refused("fake: no memory snapshots");
    return std::vector<std::string>(snapshot_names.begin(), snapshot_names.end());
  }
  Expected<void> snapshot_save(const std::string& name, Progress&) override {
    std::lock_guard lock(mu_);
    snapshot_calls.push_back("save " + name);
    if (!memory_snapshots) return Failure::refused("fake: no memory snapshots");
    if (!snapshot_names.insert(name).second) return Failure::refused(name + " exists");
    record_snapshot_facts(state_, name);
    return {};
  }
  Expected<void> revert_snapshot(const std::string& name, Progress&) override {
    std::lock_guard lock(mu_);
    snapshot_calls.push_back("revert " + name);
    if (!memory_snapshots) return Failure::refused("fake: no memory snapshots");
    if (!revert_failure.empty()) return Failure::error(revert_failure);
    if (!snapshot_names.count(name)) return Failure::not_found(name + ": no such snapshot");
    restore_snapshot_facts(state_, name);
    return {};
  }

  std::mutex mu_;
  int ups = 0, downs = 0;
  std::string up_failure;
  std::set<std::string> unreachable;
  std::vector<std::string> connects, reboots;  // connects: sessions opened, "node/user"
  std::vector<std::string> faults;                     // "crash dcs-01", in call order
  std::map<std::string, std::string> fault_failures;  // "pause dcs-02" -> refusal message
  bool memory_snapshots = true;
  std::string revert_failure;
  std::set<std::string> snapshot_names;
  std::vector<std::string> snapshot_calls;  // "list", "save NAME", "revert NAME"

 private:
  Lab lab_;
  LabState state_;
  FakeScript& script_;
};

// For code that makes its own LabControl (run_command asks a factory for one): forwards
// to a FakeLabControl that the test keeps and inspects.
class ForwardingLabControl : public LabControl {
 public:
  explicit ForwardingLabControl(FakeLabControl& f) : f_(f) {}
  const Lab& lab() const override { return f_.lab(); }
  LabState& state() override { return f_.state(); }
  Expected<void> ensure_up(Progress& p) override { return f_.ensure_up(p); }
  std::filesystem::path console_log(const std::string& n) override { return f_.console_log(n); }

 protected:
  Expected<std::shared_ptr<Transport>> open_session(const std::string& n, const std::string& u) override {
    return f_.open_session(n, u);
  }
  Expected<void> reboot_node(const std::string& n, Progress& p) override { return f_.reboot(n, p); }
  Expected<void> take_down(Progress& p) override { return f_.down(p); }

 private:
  FakeLabControl& f_;
};

}  // namespace dcslab
