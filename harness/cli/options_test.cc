#include "cli/options.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "cli/command.h"

namespace dcslab {
namespace {

using Words = std::vector<std::string>;

std::string error_of(const Words& words) {
  try {
    parse_command_line(words);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_same(const CommandLine& a, const CommandLine& b, const std::string& what) {
  EXPECT_EQ(a.command, b.command) << what;
  EXPECT_EQ(a.args, b.args) << what;
  EXPECT_EQ(a.global.lab, b.global.lab) << what;
  EXPECT_EQ(a.global.name, b.global.name) << what;
  EXPECT_EQ(a.global.provider, b.global.provider) << what;
  EXPECT_EQ(a.global.suite, b.global.suite) << what;
  EXPECT_EQ(a.global.isolated, b.global.isolated) << what;
  EXPECT_EQ(a.global.verbose, b.global.verbose) << what;
  EXPECT_EQ(a.global.help, b.global.help) << what;
}

// The same global options before the command, right after it, and after its own
// arguments parse the same; the command's words stay in their order.
TEST(CommandLine, GlobalOptionsAnywhereBeforeDashes) {
  const Words globals = {"--provider", "nspawn", "--lab", "x.yaml", "--name", "ux",
                         "--suite", "trixie", "--isolated", "-v"};
  const std::vector<std::pair<std::string, Words>> commands = {
      {"up", {"--timeout", "30"}},
      {"status", {}},
      {"exec", {"dcs-00", "--user", "root", "--", "ls", "-l"}},
      {"run", {"--only", "smoke", "--junit", "r.xml", "scenarios/smoke.yaml"}},
      {"image", {"build", "--force"}},
      {"pki", {"issue", "--days", "3", "dcs-00"}},
  };
  for (const auto& [command, args] : commands) {
    Words before = globals;
    before.push_back(command);
    before.insert(before.end(), args.begin(), args.end());
    const CommandLine reference = parse_command_line(before);
    EXPECT_EQ(reference.command, command);
    EXPECT_EQ(reference.args, args);
    EXPECT_EQ(reference.global.provider, "nspawn");
    EXPECT_EQ(reference.global.lab, std::filesystem::path("x.yaml"));
    EXPECT_TRUE(reference.global.isolated && reference.global.verbose);

    Words after_command = {command};
    after_command.insert(after_command.end(), globals.begin(), globals.end());
    after_command.insert(after_command.end(), args.begin(), args.end());
    expect_same(reference, parse_command_line(after_command), command + " GLOBALS ARGS");

    // At the end, but before a "--" (after it nothing is an option).
    Words at_end = {command};
    auto dashes = std::find(args.begin(), args.end(), "--");
    at_end.insert(at_end.end(), args.begin(), dashes);
    at_end.insert(at_end.end(), globals.begin(), globals.end());
    at_end.insert(at_end.end(), dashes, args.end());
    expect_same(reference, parse_command_line(at_end), command + " ARGS GLOBALS");
  }
}

TEST(CommandLine, NothingAfterDashesIsAnOption) {
  const CommandLine c = parse_command_line({"exec", "dcs-00", "--", "grep", "-v", "--name", "x", "--help"});
  EXPECT_EQ(c.command, "exec");
  EXPECT_EQ(c.args, (Words{"dcs-00", "--", "grep", "-v", "--name", "x", "--help"}));
  EXPECT_FALSE(c.global.verbose);
  EXPECT_FALSE(c.global.help);
  EXPECT_EQ(c.global.name, "");
}

TEST(CommandLine, ValuesWithEqualsAndHelpAnywhere) {
  const CommandLine c = parse_command_line({"up", "--provider=nspawn", "--lab=/l.yaml", "--help"});
  EXPECT_EQ(c.global.provider, "nspawn");
  EXPECT_EQ(c.global.lab, std::filesystem::path("/l.yaml"));
  EXPECT_TRUE(c.global.help);
  EXPECT_TRUE(c.args.empty());
  EXPECT_TRUE(parse_command_line({"-h"}).global.help);
  EXPECT_EQ(parse_command_line({"-h"}).command, "");
  // The command's own unknown options are its to refuse (with its own message).
  EXPECT_EQ(parse_command_line({"up", "--bogus"}).args, (Words{"--bogus"}));
}

TEST(CommandLine, BadGlobalOptionsAreBadInput) {
  EXPECT_EQ(error_of({"status", "--provider", "docker"}),
            "--provider: unknown provider \"docker\" (libvirt, nspawn, virtualbox) (see dcslab --help)");
  EXPECT_EQ(error_of({"--provider", "docker", "status"}), error_of({"status", "--provider", "docker"}));
  EXPECT_EQ(error_of({"--bogus", "up"}), "unrecognised option '--bogus' (see dcslab --help)");
  EXPECT_EQ(error_of({"up", "--lab"}), "--lab needs a value (see dcslab --help)");
  EXPECT_EQ(error_of({"--suite", "trixie", "image", "build", "--suite", "bookworm"}),
            "--suite given twice (trixie, bookworm) (see dcslab --help)");
  EXPECT_EQ(error_of({"--name", "ux", "up", "--name", "ux"}), "(no error)");
  EXPECT_NE(error_of({"up", "--name", "Not_Valid"}).find("--name: \"Not_Valid\" must be"), std::string::npos);
}

TEST(LabAddress, CarriesTheOptionsThatSelectTheLab) {
  EXPECT_EQ(LabAddress{}.command("ssh dcs-01"), "dcslab ssh dcs-01");
  GlobalOptions g;
  g.name = "ux";
  g.provider = "nspawn";
  g.isolated = true;
  g.verbose = true;  // not a lab's option
  EXPECT_EQ(LabAddress::of(g).command("ssh dcs-01"), "dcslab --name ux --provider nspawn --isolated ssh dcs-01");
  g.lab = "my labs/x.yaml";
  g.suite = "trixie";
  EXPECT_EQ(LabAddress::of(g).dcslab(),
            "dcslab --lab 'my labs/x.yaml' --name ux --provider nspawn --suite trixie --isolated");
}

TEST(LabAddress, CompletesTheCommandsLowerLayersSuggest) {
  LabAddress a;
  a.name = "ux";
  a.provider = "nspawn";
  const std::vector<std::string_view> lab_commands = {"up", "down", "ssh", "snapshot", "run"};
  auto complete = [&](std::string_view m) { return complete_suggestions(m, a, lab_commands); };
  EXPECT_EQ(complete("lab ux is not up (dcslab up)"),
            "lab ux is not up (dcslab --name ux --provider nspawn up)");
  EXPECT_EQ(complete("the lab is kept for inspection; `dcslab down` removes it"),
            "the lab is kept for inspection; `dcslab --name ux --provider nspawn down` removes it");
  EXPECT_EQ(complete("exists (dcslab snapshot delete a); or dcslab up"),
            "exists (dcslab --name ux --provider nspawn snapshot delete a); or dcslab --name ux "
            "--provider nspawn up");
  // Not a suggestion, or not of a lab command: unchanged.
  for (const char* same : {"this is not the machine dcslab created", "dcslab-ux-dcs-00 is gone",
                           "build it with `dcslab image build --suite trixie`",
                           "/usr/bin/dcslab up", "run: dcslab --name ux down"})
    EXPECT_EQ(complete(same), same);
  EXPECT_EQ(complete_suggestions("(dcslab up)", LabAddress{}, lab_commands), "(dcslab up)");
}

// What main completes suggestions with: every command that acts on a lab.
TEST(LabAddress, LabCommandsAreTheTablesLabCommands) {
  const auto names = lab_command_names();
  for (const char* lab : {"up", "down", "status", "exec", "ssh", "ssh-config", "run", "fault", "snapshot", "pki"})
    EXPECT_NE(std::find(names.begin(), names.end(), lab), names.end()) << lab;
  for (const char* other : {"image", "init", "help", "libvirtd", "exec-mux"})
    EXPECT_EQ(std::find(names.begin(), names.end(), other), names.end()) << other;
}

}  // namespace
}  // namespace dcslab
