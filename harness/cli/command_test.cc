#include "cli/command.h"

#include <gtest/gtest.h>

#include <set>

#include "base/error.h"
#include "base/paths.h"
#include "providers/registry.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

// Runs a command line through the table as main does (without its exception mapping),
// returning what the command printed on stdout.
std::string stdout_of(const std::vector<std::string>& words, int* status = nullptr) {
  Context ctx(parse_command_line(words));
  const Command* c = find_command(ctx.command());
  EXPECT_NE(c, nullptr) << words.front();
  ::testing::internal::CaptureStdout();
  int rc = -1;
  try {
    rc = ctx.global().help ? (std::fputs(std::string(c->help).c_str(), stdout), 0) : c->run(ctx);
  } catch (...) {
    ::testing::internal::GetCapturedStdout();
    throw;
  }
  if (status) *status = rc;
  return ::testing::internal::GetCapturedStdout();
}

TEST(CommandTable, EveryCommandHasASummaryAndItsOwnHelp) {
  std::set<std::string_view> names;
  for (const auto& c : commands()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name << " twice";
    EXPECT_FALSE(c.summary.empty()) << c.name;
    EXPECT_EQ(c.summary.find('\n'), std::string_view::npos) << c.name << ": one line";
    const std::string usage = "usage: dcslab " + std::string(c.name);
    EXPECT_EQ(c.help.rfind(usage, 0), 0u) << c.name << "'s help starts \"" << c.help.substr(0, 40) << "\"";
    EXPECT_EQ(c.help.back(), '\n') << c.name;
    EXPECT_NE(c.run, nullptr) << c.name;
    EXPECT_EQ(find_command(c.name), &c);
  }
  EXPECT_EQ(find_command("frobnicate"), nullptr);
  for (const char* required : {"up", "down", "status", "ssh", "exec", "ssh-config", "proxy", "run",
                               "init", "image", "pki", "snapshot", "fault", "help", "exec-mux",
                               "libvirtd"})
    EXPECT_TRUE(names.count(required)) << required;
}

TEST(CommandTable, GeneralHelpListsTheVisibleCommandsAndProviders) {
  const std::string help = general_help();
  for (const auto& c : commands()) {
    const std::string line = "\n  " + std::string(c.name) + " ";
    if (c.hidden) {
      EXPECT_EQ(help.find(line), std::string::npos) << c.name << " is hidden";
    } else {
      EXPECT_NE(help.find(line), std::string::npos) << c.name;
      EXPECT_NE(help.find(std::string(c.summary)), std::string::npos) << c.name;
    }
  }
  for (const auto& p : provider_registry()) EXPECT_NE(help.find(std::string(p.name) + ": "), std::string::npos);
  EXPECT_NE(help.find("before or after the command"), std::string::npos);
}

TEST(CommandTable, HelpCommandAndHelpOptionPrintTheSameText) {
  for (const auto& c : commands()) {
    const std::string name(c.name);
    int status = -1;
    EXPECT_EQ(stdout_of({"help", name}, &status), std::string(c.help)) << name;
    EXPECT_EQ(status, 0);
    EXPECT_EQ(stdout_of({name, "--help"}), std::string(c.help)) << name;
    EXPECT_EQ(stdout_of({"-h", name}), std::string(c.help)) << name;
  }
  EXPECT_EQ(stdout_of({"help"}), general_help());
  EXPECT_THROW(stdout_of({"help", "frobnicate"}), BadInput);
}

const char* kRemoteUriLab = R"(name: t
network: {cidr: 10.9.0.0/24, host: 10.9.0.1, domain: example.test}
provider:
  type: nspawn
  uri: qemu+ssh://hv1/system
nodes:
  - {name: a, ip: 10.9.0.2}
)";

TEST(CommandContext, GlobalOptionsApplyAndTheRegistryChecksTheResult) {
  const Lab lab = parse_lab(kRemoteUriLab, "lab.yaml");
  GlobalOptions g;
  EXPECT_EQ(with_global_options(lab, g).provider.type, "nspawn");  // nspawn ignores the uri
  g.suite = "trixie";
  g.name = "ux";
  const Lab renamed = with_global_options(lab, g);
  EXPECT_EQ(renamed.name, "ux");
  EXPECT_EQ(renamed.image.suite, "trixie");
  // --provider libvirt reads the file's uri as libvirt does: refused at its line.
  g.provider = "libvirt";
  try {
    with_global_options(lab, g);
    ADD_FAILURE() << "a remote URI with --provider libvirt was accepted";
  } catch (const BadInput& e) {
    EXPECT_EQ(std::string(e.what()).rfind("lab.yaml:5:8: provider.uri: \"qemu+ssh://hv1/system\" names a remote", 0), 0u)
        << e.what();
  }
  // A run's lab gets --provider only: its name and suite are run's to set.
  g.provider = "nspawn";
  const Lab run_lab = with_provider_option(lab, g);
  EXPECT_EQ(run_lab.name, "t");
  EXPECT_EQ(run_lab.image.suite, "bookworm");
}

TEST(CommandContext, SuggestionsReachTheLabTheCommandLineChose) {
  Context ctx(parse_command_line({"status", "--name", "ux", "--provider", "nspawn", "--isolated"}));
  EXPECT_EQ(ctx.suggest("ssh dcs-01"), "dcslab --name ux --provider nspawn --isolated ssh dcs-01");
  EXPECT_EQ(ctx.with_lab_options("lab ux is not up (dcslab up)"),
            "lab ux is not up (dcslab --name ux --provider nspawn --isolated up)");
  // After the command or before it: the same suggestion.
  Context before(parse_command_line({"--name", "ux", "--provider", "nspawn", "--isolated", "status"}));
  EXPECT_EQ(before.suggest("ssh dcs-01"), ctx.suggest("ssh dcs-01"));
}

}  // namespace
}  // namespace dcslab
