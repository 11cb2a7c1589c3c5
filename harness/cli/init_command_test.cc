#include "cli/init_command.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "providers/registry.h"
#include "scenario/scenario.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dcslab-init-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Init, WritesALabAndAScenarioThatLoadWithTheRealLoaders) {
  TempDir tmp;
  const fs::path dir = tmp.path / "My Lab";
  const auto written = write_starter(dir);
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0], dir / "lab.yaml");
  EXPECT_EQ(written[1], dir / "scenarios/first.yaml");

  const Lab lab = load_lab(dir / "lab.yaml");
  check_provider_section(lab);
  EXPECT_EQ(lab.name, "my-lab");  // after the folder
  ASSERT_EQ(lab.nodes.size(), 3u);
  EXPECT_EQ(lab.nodes[1].name, "dcs-01");
  EXPECT_EQ(lab.nodes[1].ip.str(), "192.168.56.11");
  EXPECT_EQ(lab.nodes[1].fqdn, "dcs-01.patroni.mydomain");
  EXPECT_EQ(lab.network.cidr.str(), "192.168.56.0/24");
  EXPECT_EQ(lab.provider.type, "libvirt");
  EXPECT_NE(read(dir / "lab.yaml").find("# Names every resource"), std::string::npos) << "commented";

  // The scenario finds its lab beside it, whatever the current folder.
  const Scenario sc = load_scenario(dir / "scenarios/first.yaml");
  EXPECT_EQ(sc.name, "first");
  EXPECT_EQ(sc.lab.name, "my-lab");
  EXPECT_EQ(fs::weakly_canonical(sc.lab_file), fs::weakly_canonical(dir / "lab.yaml"));
  EXPECT_EQ(sc.steps.size(), 3u);
}

TEST(Init, RefusesToOverwriteAndWritesNothing) {
  TempDir tmp;
  fs::create_directories(tmp.path / "scenarios");
  { std::ofstream(tmp.path / "scenarios/first.yaml") << "mine\n"; }
  try {
    write_starter(tmp.path);
    ADD_FAILURE() << "init overwrote a scenario";
  } catch (const BadInput& e) {
    EXPECT_EQ(std::string(e.what()), "init: " + (tmp.path / "scenarios/first.yaml").string() +
                                         " exists; not overwriting it (move it away, or init "
                                         "another folder)");
  }
  EXPECT_EQ(read(tmp.path / "scenarios/first.yaml"), "mine\n");
  EXPECT_FALSE(fs::exists(tmp.path / "lab.yaml")) << "nothing half-written";

  // A second init into a folder already initialised names the lab file first.
  TempDir again;
  write_starter(again.path);
  const std::string lab = read(again.path / "lab.yaml");
  EXPECT_THROW(write_starter(again.path), BadInput);
  EXPECT_EQ(read(again.path / "lab.yaml"), lab);
}

TEST(Init, LabNameFromTheFolder) {
  EXPECT_EQ(starter_lab_name("/x/etcd-lab"), "etcd-lab");
  EXPECT_EQ(starter_lab_name("/x/My_Lab 2/"), "my-lab-2");
  EXPECT_EQ(starter_lab_name("/x/___"), "lab");
  EXPECT_EQ(starter_lab_name("/x/" + std::string(40, 'a')), std::string(32, 'a'));
  for (const auto& f : starter_files("t")) EXPECT_FALSE(f.text.empty()) << f.path;
}

}  // namespace
}  // namespace dcslab
