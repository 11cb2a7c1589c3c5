#include "lab/image.h"
#include "base/file.h"
#include "base/paths.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "testing/fake_etcd_archive.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dcslab-image-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

void put(const fs::path& p, const std::string& text, bool exec = false) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  if (exec) fs::permissions(p, fs::perms::owner_exec, fs::perm_options::add);
}

// A file the test expects may be missing: that reads as empty, and the assertion says so.
std::string slurp(const fs::path& p) {
  auto text = read_file(p);
  return text ? std::move(*text) : std::string();
}

// The file's lines (the fake recipe's record of its calls).
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Records what a build reported, to check the recipe's phases reach the user.
class RecordingProgress : public Progress {
 public:
  void phase(const std::string& m) override { phases.push_back(m); }
  void waiting(const std::string&, std::chrono::seconds, std::chrono::seconds) override {}
  void done(const std::string& m) override { dones.push_back(m); }
  std::vector<std::string> phases, dones;
};

class ImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    recipe_ = tmp_.path / "recipe";
    home_ = tmp_.path / "home";
    put(recipe_ / "build-rootfs", "#!/bin/bash\nexit 1\n", true);
    put(recipe_ / "files/sudoers-tux", "tux ALL=(ALL:ALL) NOPASSWD: ALL\n");
  }
  ImageBuildOptions options(const std::string& suite = "bookworm") {
    ImageBuildOptions o;
    o.suite = suite;
    o.recipe_dir = recipe_;
    o.home = home_;
    return o;
  }
  // A recipe standing in for mmdebstrap: it makes the files a real build makes.
  void fake_recipe(const std::string& etcd_version = "3.4.23") {
    put(recipe_ / "build-rootfs",
        "#!/bin/bash\nset -e\nout=$2\n"
        "echo '==> mmdebstrap: '$1\n"
        "echo 'I: downloading packages with apt...'\n"
        "mkdir -p $out/rootfs/etc\necho $1 > $out/rootfs/etc/suite\n"
        "echo qcow > $out/disk.qcow2\necho k > $out/vmlinuz\necho i > $out/initrd.img\n"
        "echo '==> making ext4'\n"
        "printf 'etcd_version=" + etcd_version + "\\netcd_deb_version=" + etcd_version +
            "-4\\nrootfs_mib=300\\n' > $out/build-info\n",
        true);
  }
  TempDir tmp_;
  fs::path recipe_, home_;
};

TEST_F(ImageTest, HashIsStableAndCoversRecipeAndSuite) {
  const std::string h = image_hash(recipe_, "bookworm");
  EXPECT_EQ(h.size(), 12u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos) << h;
  EXPECT_EQ(image_hash(recipe_, "bookworm"), h);
  EXPECT_NE(image_hash(recipe_, "trixie"), h);

  put(recipe_ / "files/sudoers-tux", "tux ALL=(ALL) ALL\n");
  const std::string changed = image_hash(recipe_, "bookworm");
  EXPECT_NE(changed, h);

  put(recipe_ / "files/new-file", "x");
  const std::string added = image_hash(recipe_, "bookworm");
  EXPECT_NE(added, changed);

  // Moving content from one file to another is a different recipe.
  fs::rename(recipe_ / "files/new-file", recipe_ / "files/other-name");
  EXPECT_NE(image_hash(recipe_, "bookworm"), added);

  // A hook that loses its executable bit breaks the build: a different recipe.
  const std::string before_chmod = image_hash(recipe_, "bookworm");
  fs::permissions(recipe_ / "build-rootfs", fs::perms::owner_exec, fs::perm_options::remove);
  EXPECT_NE(image_hash(recipe_, "bookworm"), before_chmod);
}

TEST_F(ImageTest, EtcdArchivesMakeAnotherImageWithALinkOfItsOwn) {
  const std::string plain = image_hash(recipe_, "bookworm");
  EXPECT_EQ(image_hash(recipe_, "bookworm", ""), plain);
  const std::string with = image_hash(recipe_, "bookworm", "3.5.30+:aa");
  EXPECT_NE(with, plain);
  EXPECT_NE(image_hash(recipe_, "bookworm", "3.5.30:aa"), with);  // installed or not
  EXPECT_NE(image_hash(recipe_, "bookworm", "3.5.30+:ab"), with);  // another archive
  EXPECT_EQ(image_link_name("bookworm", ""), "bookworm");
  const std::string link = image_link_name("bookworm", "3.5.30+:aa");
  EXPECT_EQ(link.rfind("bookworm+etcd-", 0), 0u) << link;
  EXPECT_EQ(link.size(), std::string("bookworm+etcd-").size() + 8);
  EXPECT_NE(image_link_name("bookworm", "3.5.30:aa"), link);
  auto img = find_image(home_, "bookworm", "3.5.30+:aa");
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().message.find("with the lab's etcd archives"), std::string::npos)
      << img.error().message;
}

// An image with the lab's etcd archives is the suite's image plus the archives: the
// suite's is built first (once), then the recipe derives the other from it
// (build-rootfs --derive BASE SUITE OUT ARCHIVES) without running mmdebstrap again.
TEST_F(ImageTest, AnImageWithEtcdArchivesIsDerivedFromTheSuitesOwn) {
  const fs::path calls = tmp_.path / "calls";
  put(recipe_ / "build-rootfs",
      "#!/bin/bash\nset -e\necho \"$*\" >> " + calls.string() + "\n"
      "if [ \"$1\" = --derive ]; then\n"
      "  base=$2 out=$4\n"
      "  echo '==> copying the image'\n"
      "  cp -a $base/rootfs $out/rootfs\n"
      "  cp $5/list $out/rootfs/etc/archives\n"
      "  cp $base/vmlinuz $base/initrd.img $out/\n"
      "  echo qcow > $out/disk.qcow2\n"
      "  printf 'etcd_version=3.5.30\\netcd_suite_version=3.4.23\\n' > $out/build-info\n"
      "  exit 0\n"
      "fi\n"
      "out=$2\nmkdir -p $out/rootfs/etc\necho $1 > $out/rootfs/etc/suite\n"
      "echo qcow > $out/disk.qcow2\necho k > $out/vmlinuz\necho i > $out/initrd.img\n"
      "printf 'etcd_version=3.4.23\\n' > $out/build-info\n",
      true);
  auto with = options();
  with.etcd = {make_fake_etcd_archive(tmp_.path, "3.5.30", "3.5.30", {"etcd", "etcdctl", "etcdutl"})};
  with.etcd[0].install = true;
  RecordingProgress progress;
  const Image derived = build_image(with, progress);

  const std::string plain = "bookworm-" + image_hash(recipe_, "bookworm");
  const auto lines = lines_of(slurp(calls));
  ASSERT_EQ(lines.size(), 2u) << slurp(calls);
  EXPECT_EQ(lines[0].rfind("bookworm " + (home_ / "images").string() + "/.", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("--derive " + (home_ / "images" / plain).string() + " bookworm ", 0), 0u)
      << lines[1];
  EXPECT_NE(lines[1].find("/etcd-archives"), std::string::npos) << lines[1];

  // The suite's image is published as usual; the derived one has the base's tree and
  // the archives' list, its own hash and link.
  EXPECT_EQ(fs::read_symlink(home_ / "images/bookworm"), fs::path(plain));
  EXPECT_EQ(derived.dir.filename().string(), "bookworm-" + image_hash(recipe_, "bookworm", derived.etcd_archives));
  EXPECT_EQ(fs::read_symlink(home_ / "images" / image_link_name("bookworm", derived.etcd_archives)),
            derived.dir.filename());
  EXPECT_EQ(slurp(derived.rootfs / "etc/suite"), "bookworm\n");
  EXPECT_EQ(slurp(derived.rootfs / "etc/archives"), "3.5.30 install etcd-v3.5.30-linux-amd64.tar.gz\n");
  EXPECT_EQ(derived.etcd_version, "3.5.30");
  EXPECT_FALSE(fs::exists(derived.dir / "etcd-archives")) << "the staged archives are not kept";
  const auto has = [&](const std::string& s) {
    return std::find(progress.phases.begin(), progress.phases.end(), s) != progress.phases.end();
  };
  EXPECT_TRUE(has("image: " + derived.dir.filename().string() + " from " + plain + " and the lab's etcd archives"))
      << ::testing::PrintToString(progress.phases);

  // Cached: nothing runs. Another archive: derived again, the suite's image reused.
  EXPECT_EQ(build_image(with, progress).dir, derived.dir);
  EXPECT_EQ(lines_of(slurp(calls)).size(), 2u) << slurp(calls);
  auto other = options();
  other.etcd = {make_fake_etcd_archive(tmp_.path, "3.3.25", "3.3.25", {"etcd", "etcdctl"})};
  const Image second = build_image(other, progress);
  EXPECT_NE(second.dir, derived.dir);
  const auto after = lines_of(slurp(calls));
  ASSERT_EQ(after.size(), 3u) << slurp(calls);
  EXPECT_EQ(after[2].rfind("--derive " + (home_ / "images" / plain).string() + " ", 0), 0u) << after[2];
}

TEST_F(ImageTest, HashOfMissingRecipeIsBadInput) {
  EXPECT_THROW(image_hash(tmp_.path / "nope", "bookworm"), BadInput);
}

TEST_F(ImageTest, TheRealRecipeHashesAndIsComplete) {
  const fs::path real = source_dir() / "images";
  for (const char* f : {"build-rootfs", "files/dcslab-identity", "files/dcslab-identity.service"})
    EXPECT_TRUE(fs::exists(real / f)) << f;
  EXPECT_EQ(image_hash(real, "bookworm").size(), 12u);
}

TEST_F(ImageTest, FindImageNamesTheCommandThatBuildsIt) {
  auto img = find_image(home_, "trixie");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.error().kind, Failure::Kind::NotFound);
  EXPECT_NE(img.error().message.find("dcslab image build --suite trixie"), std::string::npos)
      << img.error().message;
  EXPECT_TRUE(list_images(home_).empty());
}

TEST_F(ImageTest, BuildPublishesFolderSymlinkAndManifest) {
  fake_recipe();
  RecordingProgress progress;
  const Image img = build_image(options(), progress);
  const std::string name = "bookworm-" + image_hash(recipe_, "bookworm");
  EXPECT_EQ(img.dir, home_ / "images" / name);
  EXPECT_EQ(img.etcd_version, "3.4.23");
  EXPECT_EQ(img.rootfs, img.dir / "rootfs");
  EXPECT_EQ(slurp(img.rootfs / "etc/suite"), "bookworm\n");
  EXPECT_TRUE(fs::exists(img.disk));
  EXPECT_TRUE(fs::exists(img.kernel));
  EXPECT_TRUE(fs::exists(img.initrd));
  EXPECT_EQ(fs::read_symlink(home_ / "images/bookworm"), fs::path(name));
  EXPECT_TRUE(fs::exists(img.dir / "build.log"));

  const auto manifest = nlohmann::json::parse(slurp(img.dir / "manifest.json"));
  EXPECT_EQ(manifest["suite"], "bookworm");
  EXPECT_EQ(manifest["hash"], img.hash);
  EXPECT_EQ(manifest["etcd_deb_version"], "3.4.23-4");

  // The recipe's phases and mmdebstrap's reach the user.
  const auto has = [&](const std::string& s) {
    return std::find(progress.phases.begin(), progress.phases.end(), s) != progress.phases.end();
  };
  EXPECT_TRUE(has("image: mmdebstrap: bookworm")) << ::testing::PrintToString(progress.phases);
  EXPECT_TRUE(has("image: mmdebstrap: downloading"));
  EXPECT_TRUE(has("image: making ext4"));

  // Nothing temporary left beside it.
  for (const auto& e : fs::directory_iterator(home_ / "images"))
    EXPECT_NE(e.path().filename().string()[0], '.') << e.path();

  auto found = find_image(home_, "bookworm");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->dir, img.dir);
  EXPECT_EQ(found->etcd_version, "3.4.23");
  ASSERT_EQ(list_images(home_).size(), 1u);
}

TEST_F(ImageTest, CachedBuildRunsNothingAndIsFast) {
  fake_recipe();
  NullProgress quiet;
  const Image first = build_image(options(), quiet);
  // From now on the recipe would fail if it ran, and leaves a trace.
  // (Changing build-rootfs would change the hash, so the cache entry is moved to the
  // new hash's name by hand: the cache is keyed by folder name only.)
  put(recipe_ / "build-rootfs", "#!/bin/bash\ntouch " + (tmp_.path / "ran").string() + "\nexit 1\n", true);
  const std::string name2 = "bookworm-" + image_hash(recipe_, "bookworm");
  fs::rename(first.dir, home_ / "images" / name2);
  auto manifest = nlohmann::json::parse(slurp(home_ / "images" / name2 / "manifest.json"));
  manifest["hash"] = image_hash(recipe_, "bookworm");
  std::ofstream(home_ / "images" / name2 / "manifest.json") << manifest.dump();

  const auto start = std::chrono::steady_clock::now();
  const Image cached = build_image(options(), quiet);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::milliseconds(500));
  EXPECT_FALSE(fs::exists(tmp_.path / "ran"));
  EXPECT_EQ(cached.dir, home_ / "images" / name2);
  EXPECT_EQ(fs::read_symlink(home_ / "images/bookworm"), fs::path(name2));

  // force rebuilds: the recipe runs (and here fails).
  auto o = options();
  o.force = true;
  EXPECT_THROW(build_image(o, quiet), Fatal);
  EXPECT_TRUE(fs::exists(tmp_.path / "ran"));
  // A failed forced rebuild keeps the image that was there.
  EXPECT_TRUE(fs::exists(home_ / "images" / name2 / "manifest.json"));
}

TEST_F(ImageTest, FailedBuildShowsTheLogTailAndLeavesNoFolder) {
  put(recipe_ / "build-rootfs",
      "#!/bin/bash\necho '==> mmdebstrap: x'\nfor i in $(seq 1 40); do echo line-$i; done\n"
      "echo 'E: Unable to locate package etcd-server' >&2\nexit 3\n",
      true);
  RecordingProgress progress;
  std::string message;
  try {
    build_image(options(), progress);
  } catch (const Fatal& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("exit status 3"), std::string::npos) << message;
  EXPECT_NE(message.find("E: Unable to locate package etcd-server"), std::string::npos) << message;
  EXPECT_NE(message.find("line-40"), std::string::npos) << message;
  EXPECT_EQ(message.find("line-1\n"), std::string::npos) << "only the tail: " << message;
  const std::string log = (home_ / "images" / ("bookworm-" + image_hash(recipe_, "bookworm") + ".build.log")).string();
  EXPECT_NE(message.find(log), std::string::npos) << message;
  EXPECT_NE(slurp(log).find("line-1\n"), std::string::npos) << "the log has everything";
  for (const auto& e : fs::directory_iterator(home_ / "images"))
    EXPECT_EQ(e.path().extension(), ".log") << "left behind: " << e.path();
  EXPECT_FALSE(find_image(home_, "bookworm").ok());
}

TEST_F(ImageTest, ManifestRecordsTheUpgradeEtcdOnlyWhenTheRecipeReportsOne) {
  // A recipe that reports the next suite's etcd (bookworm images carry trixie's).
  put(recipe_ / "build-rootfs",
      "#!/bin/bash\nset -e\nout=$2\nmkdir -p $out/rootfs\n"
      "echo qcow > $out/disk.qcow2\necho k > $out/vmlinuz\necho i > $out/initrd.img\n"
      "printf 'etcd_version=3.4.23\\n' > $out/build-info\n"
      "if [ $1 = bookworm ]; then\n"
      "  printf 'etcd_upgrade_suite=trixie\\netcd_upgrade_version=3.5.16\\n' >> $out/build-info\n"
      "fi\n",
      true);
  RecordingProgress progress;
  const Image with = build_image(options("bookworm"), progress);
  const auto m = nlohmann::json::parse(slurp(with.dir / "manifest.json"));
  EXPECT_EQ(m["etcd_version"], "3.4.23");
  EXPECT_EQ(m["etcd_upgrade_suite"], "trixie");
  EXPECT_EQ(m["etcd_upgrade_version"], "3.5.16");
  ASSERT_FALSE(progress.dones.empty());
  EXPECT_NE(progress.dones.back().find("(etcd 3.4.23, upgrade to 3.5.16)"), std::string::npos)
      << progress.dones.back();

  const Image without = build_image(options("trixie"), progress);
  const auto n = nlohmann::json::parse(slurp(without.dir / "manifest.json"));
  EXPECT_FALSE(n.contains("etcd_upgrade_version")) << n.dump();
  EXPECT_FALSE(n.contains("etcd_upgrade_suite")) << n.dump();
}

TEST_F(ImageTest, TwoBuildsAtOnceBuildOnceTheSecondWaitsAndTakesTheImage) {
  fake_recipe();
  // Each run of the recipe is counted, and the first lasts long enough for the second
  // build to find the lock taken.
  const fs::path runs = tmp_.path / "runs";
  const std::string body = slurp(recipe_ / "build-rootfs");
  put(recipe_ / "build-rootfs", body + "echo run >> " + runs.string() + "\nsleep 1\n", true);
  RecordingProgress first_progress, second_progress;
  Image first, second;
  std::thread t([&] { first = build_image(options(), first_progress); });
  while (!fs::exists(runs)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  second = build_image(options(), second_progress);
  t.join();
  EXPECT_EQ(slurp(runs), "run\n") << "the recipe ran more than once";
  EXPECT_EQ(first.dir, second.dir);
  ASSERT_FALSE(second_progress.phases.empty());
  EXPECT_EQ(second_progress.phases.front(), "image: waiting for another image build to finish");
  ASSERT_FALSE(second_progress.dones.empty());
  EXPECT_NE(second_progress.dones.back().find("built meanwhile by another build"), std::string::npos)
      << second_progress.dones.back();
}

TEST_F(ImageTest, AnImageAnotherBuildPublishedMeanwhileIsKeptNotReplaced) {
  // The recipe stands in for a concurrent build of the same recipe: while it runs,
  // the image folder appears, complete, with a file in its rootfs (running containers
  // would have it as their lower layer).
  const fs::path where = tmp_.path / "competitor-target";
  put(recipe_ / "build-rootfs",
      "#!/bin/bash\nset -e\nout=$2\nmkdir -p $out/rootfs\n"
      "echo qcow > $out/disk.qcow2\necho k > $out/vmlinuz\necho i > $out/initrd.img\n"
      "printf 'etcd_version=3.4.23\\n' > $out/build-info\n"
      "t=$(cat " + where.string() + ")\nmkdir -p $t/rootfs/etc\necho theirs > $t/rootfs/etc/who\n"
      "printf '{\"suite\":\"bookworm\",\"hash\":\"%s\",\"etcd_version\":\"3.4.23\"}' ${t##*-} "
      "> $t/manifest.json\n",
      true);
  const std::string name = "bookworm-" + image_hash(recipe_, "bookworm");
  const fs::path final_dir = home_ / "images" / name;
  put(where, final_dir.string());
  RecordingProgress progress;
  const Image img = build_image(options(), progress);
  EXPECT_EQ(img.dir, final_dir);
  EXPECT_EQ(slurp(final_dir / "rootfs/etc/who"), "theirs\n") << "the other build's image was replaced";
  EXPECT_EQ(fs::read_symlink(home_ / "images/bookworm"), fs::path(name));
  ASSERT_FALSE(progress.dones.empty());
  EXPECT_NE(progress.dones.back().find("built meanwhile by another build"), std::string::npos)
      << progress.dones.back();
  for (const auto& e : fs::directory_iterator(home_ / "images"))
    EXPECT_NE(e.path().filename().string()[0], '.') << "left behind: " << e.path();

  // --force replaces it: that is what it is for.
  auto o = options();
  o.force = true;
  fs::remove_all(final_dir);
  put(where, final_dir.string());
  const Image forced = build_image(o, progress);
  EXPECT_FALSE(fs::exists(forced.dir / "rootfs/etc/who"));
}

TEST_F(ImageTest, SuiteMustBeAName) {
  NullProgress quiet;
  EXPECT_THROW(build_image(options("../etc"), quiet), BadInput);
  EXPECT_THROW(build_image(options(""), quiet), BadInput);
}

TEST(ImageCmdline, DirectKernelBootBasics) {
  const std::string c = Image{}.kernel_cmdline();
  EXPECT_NE(c.find("root=/dev/vda"), std::string::npos) << c;
  EXPECT_NE(c.find(" rw"), std::string::npos) << c;
  EXPECT_NE(c.find("console=ttyS0"), std::string::npos) << c;
}

TEST(ImageCmdline, NicKeepsKernelNameForTheIdentityApplier) {
  // dcslab-identity brings eth0 up before udev could rename it (images/files).
  const std::string c = Image{}.kernel_cmdline();
  EXPECT_NE(c.find(" net.ifnames=0"), std::string::npos) << c;
  EXPECT_NE(c.find(" no_timer_check"), std::string::npos) << c;
}

}  // namespace
}  // namespace dcslab
