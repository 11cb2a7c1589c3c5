// The action copy: files from one node to another through dcslab (read over SFTP, or
// `sudo -n cat` where the user may not read; written as put writes). Each location is
// NODE:PATH, both parts templates; NODE is a node's name once expanded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "scenario/actions/action_info.h"

namespace dcslab {

struct CopySpec {
  static constexpr ActionInfo info{.key = "copy",
                                   .on = ActionInfo::On::Source,
                                   .no_expect = "copy has no output to expect anything of"};
  struct Location {
    std::string node;  // template
    std::string path;  // template; absolute
  };
  std::vector<Location> from;
  Location to;         // a folder when its path ends in '/' (always with several files)
  std::optional<int> mode;  // none: the source's permission bits
  std::string owner;   // template; empty: leave
  std::string group;
  static CopySpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

}  // namespace dcslab
