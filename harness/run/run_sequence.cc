#include "run/run_sequence.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "base/interrupt.h"
#include "lab/lab_facts.h"

namespace dcslab {

std::vector<std::string> run_order(const ScenarioGraph& graph, const std::vector<std::string>& selected) {
  std::vector<std::string> order;
  std::set<std::string> placed;
  std::function<void(const std::string&)> place = [&](const std::string& n) {
    if (placed.count(n)) return;
    placed.insert(n);
    for (const auto& r : graph.requires_of(n)) place(r);
    order.push_back(n);
  };
  for (const auto& n : selected) place(n);
  return order;
}

std::set<std::string> requires_closure(const ScenarioGraph& graph, const std::string& name) {
  std::set<std::string> seen;
  std::vector<std::string> todo = graph.requires_of(name);
  while (!todo.empty()) {
    const std::string n = todo.back();
    todo.pop_back();
    if (!seen.insert(n).second) continue;
    for (const auto& r : graph.requires_of(n)) todo.push_back(r);
  }
  return seen;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

class Sequence {
 public:
  Sequence(const ScenarioGraph& graph, const std::vector<std::string>& selected, LabControl& lab,
           Runner& runner, Progress& progress, std::ostream& out, RunReport& report)
      : graph_(graph),
        explicit_(selected.begin(), selected.end()),
        lab_(lab),
        runner_(runner),
        progress_(progress),
        out_(out),
        report_(report),
        order_(run_order(graph, selected)) {}

  void run() {
    find_states();
    find_provided();
    for (const auto& name : order_) {
      if (auto b = failed_requirement(name)) {
        not_run(name, "not run: required scenario \"" + *b + "\" failed");
        continue;
      }
      if (auto it = provided_.find(name); it != provided_.end()) {
        out_ << "== " << name << ": not run: the lab state " << it->second
             << " provides it (from:)\n";
        continue;
      }
      if (outcome_.count(name)) continue;  // run already, for a scenario after a revert
      if (!explicit_.count(name) && passed(name)) {
        out_ << "== " << name << ": already passed on this lab (" << passed_at(name)
             << "), not run again\n";
        outcome_[name] = true;
        continue;
      }
      run_one(name);
    }
  }

 private:
  bool passed(const std::string& name) const { return !passed_at(name).empty(); }
  std::string passed_at(const std::string& name) const {
    return dcslab::passed_at(lab_.state(), name);
  }

  // The lab states this lab can be reverted to: snapshots on every node that were saved
  // with the lab's facts.
  void find_states() {
    bool any_from = false;
    for (const auto& n : order_) any_from = any_from || !graph_.get(n).from.empty();
    if (!any_from) return;
    auto list = lab_.snapshots();
    if (!list) {
      no_memory_ = list.error().message;
      return;
    }
    for (const auto& s : *list) {
      snapshots_.insert(s);
      if (has_snapshot_facts(lab_.state(), s)) states_.insert(s);
    }
  }

  // Scenarios only required by scenarios whose `from:` state the lab has (or by other
  // such scenarios): the revert brings what they did, so they are not run. Dependents
  // come after what they require in the order: walk it backwards.
  void find_provided() {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      const std::string& r = *it;
      if (explicit_.count(r)) continue;
      std::string state;
      bool needed = false;
      for (const auto& y : order_) {
        const auto& req = graph_.requires_of(y);
        if (std::find(req.begin(), req.end(), r) == req.end()) continue;
        const std::string& from = graph_.get(y).from;
        if (!from.empty() && states_.count(from)) {
          if (state.empty()) state = from;
        } else if (auto p = provided_.find(y); p != provided_.end()) {
          if (state.empty()) state = p->second;
        } else {
          needed = true;
        }
      }
      if (!needed && !state.empty()) provided_[r] = state;
    }
  }

  std::optional<std::string> failed_requirement(const std::string& name) const {
    for (const auto& r : graph_.requires_of(name))
      if (auto it = outcome_.find(r); it != outcome_.end() && !it->second) return r;
    return std::nullopt;
  }

  void not_run(const std::string& name, const std::string& why) {
    report_.scenarios.push_back(runner_.not_run(graph_.get(name), why));
    outcome_[name] = false;
  }

  // What `name` requires and the lab has not (any more): a revert undid it, or it was
  // left out for a state that then could not be reverted to. False if one failed.
  bool make_ready(const std::string& name) {
    for (const auto& r : graph_.requires_of(name)) {
      if (passed(r)) continue;
      if (auto it = outcome_.find(r); it != outcome_.end()) {
        if (!it->second) return false;
        out_ << "== " << r << ": run again for " << name << ": a revert undid it\n";
      }
      run_one(r);
      if (!outcome_[r]) return false;
    }
    return true;
  }

  void run_one(const std::string& name) {
    const Scenario& sc = graph_.get(name);
    const bool reverted = !sc.from.empty() && revert_to(name, sc.from);
    undo_faults_left(name);
    if (!make_ready(name)) {
      std::string failed;
      for (const auto& r : graph_.requires_of(name))
        if (outcome_.count(r) && !outcome_[r]) failed = r;
      not_run(name, "not run: required scenario \"" + failed + "\" failed");
      return;
    }
    if (!sc.from.empty() && !reverted) save_state(name, sc.from);
    report_.scenarios.push_back(runner_.run(sc));
    outcome_[name] = report_.scenarios.back().passed;
  }

  // A fault an earlier scenario left in force (it failed before the step that undoes it)
  // would be this scenario's starting point: a cut-off member fails a health check that
  // has nothing to do with it. It is undone first, and the run says so.
  void undo_faults_left(const std::string& name) {
    for (const auto& [node, undo] : lab_.faults_in_force()) {
      if (g_interrupted) return;
      const char* left = undo == FaultKind::Start    ? "crashed"
                         : undo == FaultKind::Resume ? "paused"
                                                     : "cut off";
      const auto t0 = std::chrono::steady_clock::now();
      auto r = lab_.fault(node, undo, progress_);
      if (r)
        out_ << fmt::format("== {}: first {} {}: an earlier scenario left it {} ({:.1f} s)\n",
                            name, fault_name(undo), node, left, seconds_since(t0));
      else
        out_ << "== " << name << ": " << fault_name(undo) << " " << node
             << ", which an earlier scenario left " << left << ", failed (" << r.error().message
             << "); " << name << " runs on the lab as it is\n";
    }
  }

  bool revert_to(const std::string& name, const std::string& state) {
    if (!states_.count(state)) return false;
    const auto t0 = std::chrono::steady_clock::now();
    // Whatever happens, the sessions opened before are dropped (LabControl).
    auto r = lab_.snapshot_revert(state, progress_);
    if (!r) {
      out_ << "== " << name << ": from " << state << ": the revert failed (" << r.error().message
           << "); its requires run instead\n";
      states_.erase(state);
      return false;
    }
    out_ << fmt::format("== {}: from {}: lab reverted to {} in {:.1f} s; its requires are not run\n",
                        name, state, state, seconds_since(t0));
    return true;
  }

  void save_state(const std::string& name, const std::string& state) {
    if (!no_memory_.empty()) {
      if (said_no_memory_.insert(state).second)
        out_ << "== " << name << ": from " << state << ": no lab snapshots here (" << no_memory_
             << "); its requires ran as usual\n";
      return;
    }
    if (snapshots_.count(state)) {
      if (!has_snapshot_facts(lab_.state(), state))
        out_ << "== " << name << ": from " << state << ": a snapshot " << state
             << " exists without the lab's facts (saved by an older dcslab); not used, not "
                "replaced\n";
      return;
    }
    // The lab holds exactly the state only if nothing else passed on it.
    const auto closure = requires_closure(graph_, name);
    std::string extra;
    for (const auto& done : passed_scenarios(lab_.state())) {
      if (!closure.count(done)) extra += (extra.empty() ? "" : ", ") + done;
    }
    if (!extra.empty()) {
      out_ << "== " << name << ": from " << state << ": not saved: the lab has also passed "
           << extra << " (run on a fresh lab to make " << state << ")\n";
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto r = lab_.snapshot_save(state, progress_);
    if (!r) {
      out_ << "== " << name << ": from " << state << ": could not save the lab state ("
           << r.error().message << ")\n";
      return;
    }
    snapshots_.insert(state);
    states_.insert(state);
    out_ << fmt::format("== {}: lab state {} saved in {:.1f} s (later runs start from it)\n", name,
                        state, seconds_since(t0));
  }

  const ScenarioGraph& graph_;
  const std::set<std::string> explicit_;
  LabControl& lab_;
  Runner& runner_;
  Progress& progress_;
  std::ostream& out_;
  RunReport& report_;
  const std::vector<std::string> order_;
  std::map<std::string, bool> outcome_;             // name -> passed, in this run
  std::set<std::string> snapshots_, states_;        // states_: with the lab's facts
  std::map<std::string, std::string> provided_;     // name -> the state that provides it
  std::string no_memory_;                           // why the lab has no snapshots
  std::set<std::string> said_no_memory_;
};

}  // namespace

void run_sequence(const ScenarioGraph& graph, const std::vector<std::string>& selected,
                  LabControl& lab, Runner& runner, Progress& progress, std::ostream& out,
                  RunReport& report) {
  Sequence(graph, selected, lab, runner, progress, out, report).run();
}

}  // namespace dcslab
