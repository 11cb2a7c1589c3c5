#include "base/paths.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cctype>
#include <fstream>

namespace dcslab {
namespace {

namespace fs = std::filesystem;

// A folder that is removed with the test.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("dcslab-paths-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

TEST(Paths, AnInstalledBinaryUsesShareDcslabBesideIt) {
  TempDir t;
  const fs::path prefix = t.path / "usr";
  const fs::path source = t.path / "src";
  touch(prefix / "share/dcslab/images/build-rootfs");
  EXPECT_EQ(choose_data_dir(nullptr, prefix / "bin/dcslab", source), prefix / "share/dcslab");
  // $DCSLAB_DATA_DIR wins; an empty one is unset.
  EXPECT_EQ(choose_data_dir("/elsewhere", prefix / "bin/dcslab", source), "/elsewhere");
  EXPECT_EQ(choose_data_dir("", prefix / "bin/dcslab", source), prefix / "share/dcslab");
}

TEST(Paths, TheBuildTreesBinaryUsesTheSourceTree) {
  TempDir t;
  const fs::path source = t.path / "src";
  // build/harness/dcslab: no share/dcslab beside it.
  EXPECT_EQ(choose_data_dir(nullptr, t.path / "build/harness/dcslab", source), source);
  // An empty or half-removed share/dcslab does not make an install.
  fs::create_directories(t.path / "other/share/dcslab/images");
  EXPECT_EQ(choose_data_dir(nullptr, t.path / "other/bin/dcslab", source), source);
  EXPECT_EQ(choose_data_dir(nullptr, fs::path(), source), source);
}

TEST(Paths, TheDefaultLabIsTheExampleLabWhereverDcslabRuns) {
  TempDir t;
  touch(t.path / "lab.yaml");
  const fs::path before = fs::current_path();
  fs::current_path(t.path);
  const fs::path chosen = default_lab_file();
  fs::current_path(before);
  // A lab file of the current folder is used only when --lab names it: the same command
  // pasted in another folder reaches the same lab.
  EXPECT_EQ(chosen, example_lab_file());
  EXPECT_EQ(chosen.filename(), "dcs.yaml");
  EXPECT_TRUE(fs::is_regular_file(chosen)) << chosen;
}

TEST(Paths, TheVersionIsGitsOrTheProjects) {
  const std::string v = version();
  ASSERT_FALSE(v.empty());
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(v[0]))) << v;  // no leading "v"
  EXPECT_EQ(v.find(' '), std::string::npos) << v;
}

}  // namespace
}  // namespace dcslab
