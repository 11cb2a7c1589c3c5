// A command's own options, parsed with Boost.Program_options (so `up --bogus` says
// "unrecognised option '--bogus'"), positionals returned, and the words after "--"
// handed back separately for the commands that take a command line (exec, ssh).
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace dcslab {

std::vector<std::string> parse_options(const std::string& command, std::vector<std::string> args,
                                       boost::program_options::options_description& opts,
                                       std::vector<std::string>* after_dashes = nullptr);

}  // namespace dcslab
