#include "lab/image.h"
#include "base/paths.h"

#include "base/digest.h"
#include "base/file.h"
#include "base/process.h"
#include "base/text.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "lab/etcd_archive.h"
#include "lab/state.h"


namespace dcslab {

namespace fs = std::filesystem;

namespace {

// The recipe's files and a finished build's reports: one unreadable is a broken install
// or image folder, not something to go on without.
std::string read_or_fatal(const fs::path& p) {
  auto text = read_file(p);
  if (!text) throw Fatal(text.error().message);
  return std::move(*text);
}

// build-info is the recipe's key=value report (etcd version, sizes).
std::map<std::string, std::string> parse_build_info(const fs::path& p) {
  std::map<std::string, std::string> kv;
  std::istringstream in(read_or_fatal(p));
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

Image image_in(const fs::path& dir, const nlohmann::json& manifest) {
  Image img;
  img.suite = manifest.at("suite").get<std::string>();
  img.hash = manifest.at("hash").get<std::string>();
  img.etcd_version = manifest.value("etcd_version", "");
  img.etcd_archives = manifest.value("etcd_archives", "");
  img.dir = dir;
  img.rootfs = dir / "rootfs";
  img.disk = dir / "disk.qcow2";
  img.kernel = dir / "vmlinuz";
  img.initrd = dir / "initrd.img";
  return img;
}

Expected<Image> load_image(const fs::path& dir) {
  const auto manifest = dir / "manifest.json";
  std::error_code ec;
  if (!fs::is_regular_file(manifest, ec))
    return Failure::not_found(dir.string() + " holds no manifest.json (an unfinished build?)");
  DCSLAB_TRY_ASSIGN(auto text, read_file(manifest));
  try {
    return image_in(dir, nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    return Failure::error(manifest.string() + ": unreadable (" + e.what() + ")");
  }
}

std::string last_lines(const std::deque<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

// mmdebstrap says what it does in "I: ..." lines; these name the slow parts.
std::string mmdebstrap_phase(const std::string& line) {
  static const std::pair<const char*, const char*> kPhases[] = {
      {"I: running apt-get update", "mmdebstrap: package lists"},
      {"I: downloading packages", "mmdebstrap: downloading"},
      {"I: extracting archives", "mmdebstrap: extracting"},
      {"I: installing essential packages", "mmdebstrap: installing essential packages"},
      {"I: installing remaining packages", "installing packages"},
      {"I: cleaning package lists", "mmdebstrap: cleaning up"},
  };
  for (const auto& [prefix, phase] : kPhases)
    if (line.rfind(prefix, 0) == 0) return phase;
  return "";
}

// Runs the recipe, streaming its output line by line into the log and phases into
// `progress`. Returns the exit status (-1 when killed) and keeps the last lines for
// the error message.
int run_recipe(const std::vector<std::string>& argv, const fs::path& log_path,
               Progress& progress, std::deque<std::string>* tail) {
  std::ofstream log(log_path, std::ios::app);
  if (!log) throw Fatal("cannot write the build log " + log_path.string());
  auto status = run_process_lines(argv, [&](std::string line) {
    if (!line.empty() && line.back() == '\n') line.pop_back();
    log << line << '\n';
    tail->push_back(line);
    if (tail->size() > 25) tail->pop_front();
    if (line.rfind("==> ", 0) == 0) {
      progress.phase("image: " + line.substr(4));
    } else if (auto ph = mmdebstrap_phase(line); !ph.empty()) {
      progress.phase("image: " + ph);
    }
  });
  if (!status) throw Fatal(status.error().message);
  return *status;
}

// Points images/<suite> at `target` by renaming a fresh symlink over it, so a reader
// never sees it missing.
void point_symlink(const fs::path& link, const fs::path& target_name) {
  const auto tmp = link.parent_path() / ("." + link.filename().string() + ".link-" +
                                         std::to_string(::getpid()));
  fs::remove(tmp);
  fs::create_directory_symlink(target_name, tmp);
  fs::rename(tmp, link);
}

// The checked archives, copied beside the build for the recipe (images/build-rootfs's
// third argument): ARCHIVES/list has one "VERSION install|extra FILE" a line.
fs::path stage_etcd_archives(const std::vector<EtcdArchiveSpec>& archives, const fs::path& tmp) {
  const fs::path dir = tmp / "etcd-archives";
  fs::create_directories(dir);
  std::string list;
  for (const auto& a : archives) {
    fs::copy_file(a.archive, dir / a.archive.filename(), fs::copy_options::overwrite_existing);
    list += a.version + (a.install ? " install " : " extra ") + a.archive.filename().string() + "\n";
  }
  auto w = write_file(dir / "list", list);
  if (!w) throw Fatal(w.error().message);
  return dir;
}

}  // namespace

std::string Image::kernel_cmdline() const {
  // quiet + loglevel: every console character is a trapped port write under TCG, so a
  // chatty boot is a slow boot; systemd still reports failures on the console.
  // net.ifnames=0: the NIC keeps the kernel's name (eth0); dcslab-identity brings it up
  // with the lab address before udev runs, and udev cannot rename a link that is up.
  // tsc=reliable: TCG's TSC is the host's clock, the same on every vCPU, but the
  // kernel's sync check fails under load and falls back to the HPET, whose every read
  // is an emulated MMIO access (clock_gettime() in userspace included).
  // no_timer_check: under host load the IO-APIC timer check misses its ticks and the
  // kernel panics ("IO-APIC + timer doesn't work!"; seen with three TCG nodes at once).
  // cryptomgr.notests: the crypto self-tests were 1.6 s of a 4.2 s TCG kernel boot.
  return "root=/dev/vda rw console=ttyS0 quiet loglevel=3 systemd.show_status=error "
         "net.ifnames=0 tsc=reliable no_timer_check cryptomgr.notests";
}

std::string image_link_name(const std::string& suite, const std::string& archives_id) {
  if (archives_id.empty()) return suite;
  return suite + "+etcd-" + sha256_hex(archives_id).substr(0, 8);
}

std::string image_hash(const fs::path& recipe_dir, const std::string& suite,
                       const std::string& archives_id) {
  std::error_code ec;
  if (!fs::is_directory(recipe_dir, ec))
    throw BadInput("image recipe folder " + recipe_dir.string() + " does not exist");
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(recipe_dir); it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file()) files.push_back(fs::relative(it->path(), recipe_dir));
  std::sort(files.begin(), files.end());

  Sha256 digest;
  // Length-prefixed fields, so no two different inputs concatenate to the same bytes.
  auto feed = [&](const std::string& part) { digest.field(part); };
  feed("dcslab-image-v1");
  feed(suite);
  // Only when there are archives, so the suite's own image keeps its hash.
  if (!archives_id.empty()) feed("etcd-archives:" + archives_id);
  for (const auto& rel : files) {
    const auto full = recipe_dir / rel;
    // The executable bit matters: a hook that loses it breaks the build.
    const bool exec = (fs::status(full).permissions() & fs::perms::owner_exec) != fs::perms::none;
    feed(rel.generic_string());
    feed(exec ? "x" : "-");
    feed(read_or_fatal(full));
  }
  return digest.hex_digest().substr(0, 12);
}

Image build_image(const ImageBuildOptions& options, Progress& progress) {
  const fs::path recipe = options.recipe_dir.empty() ? recipe_dir() : options.recipe_dir;
  const fs::path home = options.home.empty() ? dcslab_home() : options.home;
  if (options.suite.empty() || options.suite.find('/') != std::string::npos ||
      options.suite[0] == '.')
    throw BadInput("image suite '" + options.suite + "' is not a Debian suite name");
  for (const auto& a : options.etcd) check_etcd_archive(a);
  const std::string archives_id = etcd_archives_id(options.etcd);
  const std::string hash = image_hash(recipe, options.suite, archives_id);
  const fs::path images = home / "images";
  const std::string name = options.suite + "-" + hash;
  const fs::path final_dir = images / name;
  const fs::path link = images / image_link_name(options.suite, archives_id);

  if (!options.force) {
    if (auto cached = load_image(final_dir)) {
      std::error_code ec;
      if (fs::read_symlink(link, ec) != fs::path(name)) point_symlink(link, name);
      progress.done("image " + name + " (cached)");
      return *cached;
    }
  }

  // An image with the lab's etcd archives is the suite's own image plus those archives'
  // packages (images/build-rootfs --derive): the suite's image is built first (or found
  // cached), before this build takes the lock, and copied. In a CI run that builds both,
  // the download and mmdebstrap happen once.
  std::optional<Image> base;
  if (!options.etcd.empty()) {
    ImageBuildOptions plain = options;
    plain.etcd.clear();
    plain.force = false;
    base = build_image(plain, progress);
  }

  fs::create_directories(images);
  // One image build at a time: a second `image build` (another terminal, tests run side
  // by side) waits for the first, then takes its image if it was the same. The lock is
  // the images folder's own (flock on its descriptor), so it leaves no file behind.
  auto lock = lock_file(images, RealClock::instance(), std::chrono::hours(1), [&] {
    progress.phase("image: waiting for another image build to finish");
  });
  if (!lock) throw Fatal("image " + name + ": " + lock.error().message);
  if (!options.force) {
    if (auto cached = load_image(final_dir)) {
      point_symlink(link, name);
      progress.done("image " + name + " (built meanwhile by another build)");
      return *cached;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const fs::path tmp = images / ("." + name + ".tmp-" + std::to_string(::getpid()));
  const fs::path log_path = images / (name + ".build.log");
  fs::remove_all(tmp);
  fs::remove(log_path);
  fs::create_directories(tmp);

  progress.phase("image: building " + name + " (log: " + log_path.string() + ")");
  std::deque<std::string> tail;
  int status = -1;
  try {
    std::vector<std::string> argv = {"bash", (recipe / "build-rootfs").string(), options.suite,
                                     tmp.string()};
    if (base) {
      const fs::path staged = stage_etcd_archives(options.etcd, tmp);
      progress.phase("image: " + name + " from " + base->dir.filename().string() + " and the lab's etcd archives");
      argv = {"bash", (recipe / "build-rootfs").string(), "--derive", base->dir.string(), options.suite,
              tmp.string(), staged.string()};
    }
    if (!options.mirror.empty())
      argv.insert(argv.begin(), {"env", "DCSLAB_MIRROR=" + options.mirror});
    status = run_recipe(argv, log_path, progress, &tail);
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  if (status != 0) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw Fatal("image build for " + options.suite + " failed (" +
                (status < 0 ? std::string("killed") : "exit status " + std::to_string(status)) +
                "); last lines:\n" + last_lines(tail) + "full log: " + log_path.string());
  }

  const auto info = parse_build_info(tmp / "build-info");
  nlohmann::json manifest;
  manifest["suite"] = options.suite;
  manifest["hash"] = hash;
  manifest["etcd_version"] = info.count("etcd_version") ? info.at("etcd_version") : "";
  manifest["etcd_deb_version"] = info.count("etcd_deb_version") ? info.at("etcd_deb_version") : "";
  if (!archives_id.empty()) {
    manifest["etcd_archives"] = archives_id;
    // The suite's own etcd, moved aside for an installed archive (scenarios/upgrades).
    if (info.count("etcd_suite_version")) manifest["etcd_suite_version"] = info.at("etcd_suite_version");
  }
  // The next suite's etcd in the image's upgrade repository (scenarios/upgrades); absent
  // for suites that have none.
  if (info.count("etcd_upgrade_version")) {
    manifest["etcd_upgrade_suite"] = info.count("etcd_upgrade_suite") ? info.at("etcd_upgrade_suite") : "";
    manifest["etcd_upgrade_version"] = info.at("etcd_upgrade_version");
  }
  manifest["kernel_version"] = info.count("kernel_version") ? info.at("kernel_version") : "";
  manifest["rootfs_mib"] = info.count("rootfs_mib") ? std::stol(info.at("rootfs_mib")) : 0;
  manifest["disk_virtual_mib"] = info.count("disk_virtual_mib") ? std::stol(info.at("disk_virtual_mib")) : 0;
  manifest["disk_file_bytes"] = static_cast<uint64_t>(fs::file_size(tmp / "disk.qcow2"));
  manifest["build_seconds"] =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start).count();
  manifest["built_at"] = utc_now_iso8601();
  {
    std::ofstream out(tmp / "manifest.json");
    out << manifest.dump(2) << '\n';
    if (!out) throw Fatal("cannot write " + (tmp / "manifest.json").string());
  }
  fs::remove(tmp / "build-info");
  fs::remove_all(tmp / "etcd-archives");

  // Publish: the folder appears complete or not at all.
  std::error_code ec;
  // Another build of the same recipe finished first: keep its image. Its rootfs may
  // already be the lower layer of running containers; replacing it would delete files
  // under them. Only --force replaces an image.
  if (!options.force) {
    if (auto theirs = load_image(final_dir)) {
      fs::remove_all(tmp, ec);
      fs::remove(log_path, ec);
      point_symlink(link, name);
      progress.done("image " + name + " (built meanwhile by another build; this one discarded)");
      return *theirs;
    }
  }
  const fs::path old = images / ("." + name + ".old-" + std::to_string(::getpid()));
  if (fs::exists(final_dir, ec)) fs::rename(final_dir, old);
  fs::rename(tmp, final_dir);
  fs::remove_all(old, ec);
  fs::rename(log_path, final_dir / "build.log", ec);
  point_symlink(link, name);
  progress.done("image " + name + " built in " + manifest["build_seconds"].dump() + " s (etcd " +
                manifest["etcd_version"].get<std::string>() +
                (archives_id.empty() ? std::string() : " from the lab's archives") +
                (manifest.contains("etcd_upgrade_version")
                     ? ", upgrade to " + manifest["etcd_upgrade_version"].get<std::string>()
                     : std::string()) +
                ")");
  return image_in(final_dir, manifest);
}

Expected<Image> find_image(const fs::path& home, const std::string& suite,
                           const std::string& archives_id) {
  const fs::path link = home / "images" / image_link_name(suite, archives_id);
  std::error_code ec;
  if (!fs::exists(link, ec)) {
    if (!archives_id.empty())
      return Failure::not_found("no image for suite " + suite + " with the lab's etcd archives (" +
                                archives_id.substr(0, 40) + "...) under " +
                                (home / "images").string() +
                                "; build it with `dcslab --lab <this lab file> image build`");
    return Failure::not_found("no image for suite " + suite + " under " + (home / "images").string() +
                              "; build it with `dcslab image build --suite " + suite + "`");
  }
  const fs::path dir = fs::canonical(link, ec);
  if (ec) return Failure::error("cannot resolve " + link.string() + ": " + ec.message());
  auto img = load_image(dir);
  if (!img && img.error().kind == Failure::Kind::NotFound)
    return Failure::not_found(img.error().message + "; rebuild it with `dcslab image build --suite " +
                              suite + " --force`");
  return img;
}

std::vector<Image> list_images(const fs::path& home) {
  std::vector<Image> out;
  std::error_code ec;
  const fs::path images = home / "images";
  if (!fs::is_directory(images, ec)) return out;
  for (const auto& entry : fs::directory_iterator(images, ec)) {
    const auto fname = entry.path().filename().string();
    if (fname.empty() || fname[0] == '.' || entry.is_symlink() || !entry.is_directory()) continue;
    if (auto img = load_image(entry.path())) out.push_back(std::move(*img));
  }
  std::sort(out.begin(), out.end(), [](const Image& a, const Image& b) {
    return a.suite != b.suite ? a.suite < b.suite : a.hash < b.hash;
  });
  return out;
}

}  // namespace dcslab
