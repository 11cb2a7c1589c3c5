// What every action's spec declares about itself, once, beside its fields (each spec in
// scenario/actions/*.h):
//
//   struct RunSpec {
//     static constexpr ActionInfo info{.key = "run", .repeats = true, .captures = true};
//     std::string command;
//     static RunSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
//     std::string default_name() const;
//   };
//
// The step's parser (step_parser.h) reads the action's key from info, lets parse() read
// the action's value, and checks the rest of the step against info; the runner runs it
// with run/actions/actions.h. A spec added to the Action variant (actions.h) without its
// parse(), default_name() and run_action() does not compile.
#pragma once

namespace YAML {
class Node;
}

namespace dcslab {

class StepParser;
struct Step;

struct ActionInfo {
  const char* key = "";  // the step's key, and the action's name in reports
  // Where the step runs when it has no `on`.
  enum class On {
    Required,   // nowhere: `on` is required
    OneNode,    // the lab's first node; with `on`, exactly one (whose files it reads)
    NamedNode,  // every node, when the action names its node (`node:`); else required
    Source,     // the node of the action's source (parse() sets it)
  };
  On on = On::Required;
  bool repeats = false;             // `until` may repeat it
  bool captures = false;            // `capture` may take what it did
  const char* no_expect = nullptr;  // why `expect` is refused (null: allowed)
};

}  // namespace dcslab
