// dcslab: brings up the three-node etcd lab and drives it.
//
//   dcslab [OPTIONS] COMMAND [ARGS]   (options before or after the command)
//
// main() is a list of phases; the commands are a table (command.h, commands.cc).
//
// Exit status: 0 success; 1 a command on a node failed (exec returns the node's own
// status); 2 bad input (lab file, arguments); 3 infrastructure failure (the lab could not
// come up, libvirtd unreachable, image missing).
#include <signal.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "base/error.h"
#include "base/interrupt.h"
#include "base/paths.h"
#include "cli/command.h"
#include "cli/options.h"

using namespace dcslab;

namespace {

void set_up_logging(bool verbose) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("dcslab"));
  spdlog::set_pattern(verbose ? "%H:%M:%S.%e %^%l%$ %v" : "%^%v%$");
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);
}

// The command named on the command line, or BadInput naming the valid ones.
const Command& command_named(const std::string& name) {
  if (const Command* c = find_command(name)) return *c;
  throw BadInput("unknown command \"" + name + "\" (see dcslab --help)");
}

int run(Context& ctx) {
  const GlobalOptions& g = ctx.global();
  if (g.version) {
    std::printf("dcslab %s\n", version().c_str());
    return 0;
  }
  if (ctx.command().empty()) {
    std::fputs(general_help().c_str(), g.help ? stdout : stderr);
    return g.help ? 0 : 2;
  }
  const Command& command = command_named(ctx.command());
  if (g.help) {
    std::fputs(std::string(command.help).c_str(), stdout);
    return 0;
  }
  // Bad input stops everything before anything is created: the lab file is loaded and
  // checked (provider registry included) before a lab command runs.
  if (command.lab == LabUse::Loaded) ctx.lab();
  return command.run(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  // 1. Ctrl-C and SIGTERM stop waits cleanly (reports are written); a second exits at once.
  install_interrupt_handlers();

  std::optional<Context> ctx;
  try {
    // 2. The command line: global options wherever they are, the command, its words.
    CommandLine line = parse_command_line({argv + 1, argv + argc});
    if (const char* e = std::getenv("DCSLAB_ISOLATED"); e && std::string(e) == "1")
      line.global.isolated = true;
    set_up_logging(line.global.verbose);
    ctx.emplace(std::move(line));
    // 3. Help, or the command through the table (which loads the lab it needs first and
    // enters the lab's namespace where the command needs it).
    return run(*ctx);
  } catch (const BadInput& e) {
    // 4. Exceptions to exit statuses, every suggested command carrying the lab's options.
    std::fprintf(stderr, "dcslab: %s\n", ctx ? ctx->with_lab_options(e.what()).c_str() : e.what());
    return 2;
  } catch (const Fatal& e) {
    std::fprintf(stderr, "dcslab: %s\n", ctx ? ctx->with_lab_options(e.what()).c_str() : e.what());
    return 3;
  }
}
