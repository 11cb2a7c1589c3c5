#include "cli/options.h"

#include <algorithm>
#include <cctype>

#include "base/error.h"
#include "base/process.h"
#include "lab/lab.h"
#include "providers/registry.h"

namespace fs = std::filesystem;

namespace dcslab {

namespace {

[[noreturn]] void bad_usage(const std::string& message) {
  throw BadInput(message + " (see dcslab --help)");
}

// Sets a valued option once; the same option again must say the same.
void set_once(std::string& slot, const std::string& option, const std::string& value) {
  if (!slot.empty() && slot != value)
    bad_usage(option + " given twice (" + slot + ", " + value + ")");
  slot = value;
}

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& words) {
  CommandLine cl;
  GlobalOptions& g = cl.global;
  std::string lab;
  bool after_dashes = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (after_dashes) {
      cl.args.push_back(w);
      continue;
    }
    // "--name=ux" as "--name ux".
    const auto eq = w.rfind("--", 0) == 0 ? w.find('=') : std::string::npos;
    const std::string option = w.substr(0, eq);
    auto value = [&]() -> std::string {
      if (eq != std::string::npos) return w.substr(eq + 1);
      if (i + 1 >= words.size()) bad_usage(option + " needs a value");
      return words[++i];
    };
    if (option == "--lab") set_once(lab, option, value());
    else if (option == "--name") set_once(g.name, option, value());
    else if (option == "--provider") set_once(g.provider, option, value());
    else if (option == "--suite") set_once(g.suite, option, value());
    else if (w == "--isolated") g.isolated = true;
    else if (w == "-v" || w == "--verbose") g.verbose = true;
    else if (w == "-h" || w == "--help") g.help = true;
    else if (w == "--version") g.version = true;
    else if (cl.command.empty() && w.size() > 1 && w[0] == '-')
      bad_usage("unrecognised option '" + w + "'");
    else if (cl.command.empty()) cl.command = w;
    else {
      // The command's "--" goes to it (exec and ssh take what follows as the command).
      after_dashes = w == "--";
      cl.args.push_back(w);
    }
  }
  if (!lab.empty()) g.lab = lab;
  if (!g.provider.empty() && !find_provider(g.provider))
    bad_usage("--provider: unknown provider \"" + g.provider + "\" (" + provider_names() + ")");
  if (!g.name.empty() && !valid_lab_name(g.name))
    bad_usage("--name: \"" + g.name + "\" must be lower-case letters, digits and '-', at most 32");
  return cl;
}

LabAddress LabAddress::of(const GlobalOptions& g) {
  return {g.lab, g.name, g.provider, g.suite, g.isolated};
}

std::string LabAddress::options() const {
  std::vector<std::string> words;
  if (lab_file) words.insert(words.end(), {"--lab", lab_file->string()});
  if (!name.empty()) words.insert(words.end(), {"--name", name});
  if (!provider.empty()) words.insert(words.end(), {"--provider", provider});
  if (!suite.empty()) words.insert(words.end(), {"--suite", suite});
  if (isolated) words.emplace_back("--isolated");
  return words.empty() ? "" : join_argv(words);
}

std::string LabAddress::dcslab() const {
  const std::string o = options();
  return o.empty() ? "dcslab" : "dcslab " + o;
}

std::string LabAddress::command(std::string_view command) const {
  return dcslab() + " " + std::string(command);
}

std::string complete_suggestions(std::string_view message, const LabAddress& address,
                                 const std::vector<std::string_view>& commands) {
  const std::string options = address.options();
  if (options.empty()) return std::string(message);
  constexpr std::string_view kDcslab = "dcslab ";
  std::string out;
  std::size_t from = 0;
  for (auto at = message.find(kDcslab); at != std::string_view::npos;
       at = message.find(kDcslab, at + 1)) {
    // A whole word "dcslab", not the end of "dcslab-dcs" or a path.
    if (at > 0 && (std::isalnum(static_cast<unsigned char>(message[at - 1])) ||
                   message[at - 1] == '-' || message[at - 1] == '/'))
      continue;
    const auto word_at = at + kDcslab.size();
    auto word_end = message.find_first_of(" `)'\",;:\n", word_at);
    if (word_end == std::string_view::npos) word_end = message.size();
    const std::string_view word = message.substr(word_at, word_end - word_at);
    if (std::find(commands.begin(), commands.end(), word) == commands.end()) continue;
    out.append(message.substr(from, word_at - from));
    out.append(options).append(" ");
    from = word_at;
  }
  out.append(message.substr(from));
  return out;
}

}  // namespace dcslab
