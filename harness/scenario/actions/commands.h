// The actions that are a command or a file on the node, or the node's session itself:
// run, put, get, wait_for_port, wait_for_unit, reboot, relogin.
#pragma once

#include <chrono>
#include <string>

#include "scenario/actions/action_info.h"

namespace dcslab {

// run: a shell command on the node, as the step's user.
struct RunSpec {
  static constexpr ActionInfo info{.key = "run", .repeats = true, .captures = true};
  std::string command;  // template
  static RunSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// put: a file written on the node (SFTP), its owner, group and mode set.
struct PutSpec {
  static constexpr ActionInfo info{.key = "put"};
  std::string path;     // template
  std::string content;  // template (from: the local file's content, read at load)
  std::string owner;    // template; empty: leave
  std::string group;
  int mode = 0644;
  bool content_is_template = true;  // false for `from:` files, copied verbatim
  static PutSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// get: a file read from the node; its content is the step's stdout (matchers in the
// action are the step's expect.stdout).
struct GetSpec {
  static constexpr ActionInfo info{.key = "get", .repeats = true};
  std::string path;  // template
  static GetSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// wait_for_port: polled from the node until something listens (bash's /dev/tcp).
struct WaitForPortSpec {
  static constexpr ActionInfo info{.key = "wait_for_port"};
  int port = 0;
  std::string host = "127.0.0.1";  // template
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  static WaitForPortSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// wait_for_unit: polled until systemd says the unit is active.
struct WaitForUnitSpec {
  static constexpr ActionInfo info{.key = "wait_for_unit"};
  std::string unit;  // template
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  static WaitForUnitSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// reboot: through the provider; returns once the node answers SSH again.
struct RebootSpec {
  static constexpr ActionInfo info{.key = "reboot",
                                   .no_expect = "reboot has no output to expect anything of"};
  static RebootSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// relogin: a fresh SSH session (a new login picks up new group membership).
struct ReloginSpec {
  static constexpr ActionInfo info{.key = "relogin",
                                   .no_expect = "relogin has no output to expect anything of"};
  static ReloginSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

}  // namespace dcslab
