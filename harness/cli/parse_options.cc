#include "cli/parse_options.h"

#include <algorithm>

#include "cli/command.h"

namespace po = boost::program_options;

namespace dcslab {

std::vector<std::string> parse_options(const std::string& command, std::vector<std::string> args,
                                       po::options_description& opts,
                                       std::vector<std::string>* after_dashes) {
  auto dd = std::find(args.begin(), args.end(), "--");
  if (dd != args.end()) {
    if (!after_dashes) bad_usage(command, command + ": unexpected \"--\"");
    after_dashes->assign(dd + 1, args.end());
    args.erase(dd, args.end());
  }
  po::options_description all;
  all.add(opts).add_options()("pos", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("pos", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    bad_usage(command, command + ": " + e.what());
  }
  if (!vm.count("pos")) return {};
  return vm["pos"].as<std::vector<std::string>>();
}

}  // namespace dcslab
