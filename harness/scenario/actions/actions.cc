#include "scenario/actions/actions.h"

namespace dcslab {

namespace {

template <class V>
struct Keys;
template <class... Spec>
struct Keys<std::variant<Spec...>> {
  static std::vector<std::string> all() { return {Spec::info.key...}; }
};

}  // namespace

const ActionInfo& action_info(const Action& a) {
  return std::visit([](const auto& spec) -> const ActionInfo& { return spec.info; }, a);
}

const std::vector<std::string>& action_keys() {
  static const std::vector<std::string> keys = Keys<Action>::all();
  return keys;
}

}  // namespace dcslab
