// The action fault: one fault (lab/fault.h) on the step's nodes, on `node`, or on nodes
// the run's seeded random generator picks from the step's nodes (`pick: random`, `count`
// of them).
#pragma once

#include <string>

#include "lab/fault.h"
#include "scenario/actions/action_info.h"

namespace dcslab {

struct FaultSpec {
  static constexpr ActionInfo info{.key = "fault",
                                   .on = ActionInfo::On::NamedNode,
                                   .captures = true,
                                   .no_expect = "fault has no output to expect anything of"};
  FaultKind kind = FaultKind::Crash;
  std::string node;         // template; empty: the step's `on` nodes
  bool pick_random = false;
  int count = 1;            // with pick_random: how many distinct nodes
  std::string unit;         // kill: the systemd unit (template)
  static FaultSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

}  // namespace dcslab
