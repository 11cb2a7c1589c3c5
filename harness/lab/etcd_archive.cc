#include "lab/etcd_archive.h"

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <tuple>

#include "base/digest.h"
#include "base/error.h"
#include "base/file.h"
#include "base/process.h"

namespace dcslab {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void refuse(const std::string& at, const EtcdArchiveSpec& spec, const std::string& key,
                         const std::string& what) {
  throw BadInput(at + ": " + spec.key + "." + key + ": " + what);
}

// A scratch folder removed on every way out.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = fs::temp_directory_path() / ("dcslab-etcd-archive-" + random_alnum(10));
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// `binary` with one argument, bounded: a file named etcd may be anything. As root (an
// image build), it runs as nobody, without new privileges, in a network namespace of its
// own with no interface up, so a file that is not an etcd can neither act as root nor
// reach a network.
std::string version_output(const fs::path& binary, const std::string& arg) {
  std::vector<std::string> argv = {"timeout", "10", binary.string(), arg};
  if (geteuid() == 0)
    argv.insert(argv.begin(), {"unshare", "--net", "--", "setpriv", "--reuid=65534", "--regid=65534",
                               "--clear-groups", "--no-new-privs"});
  auto r = run_process(argv);
  if (!r) return "(could not be run: " + r.error().message + ")";
  return r->output;
}

}  // namespace

void check_etcd_archive(const EtcdArchiveSpec& spec) {
  std::error_code ec;
  if (!fs::is_regular_file(spec.archive, ec))
    refuse(spec.archive_at, spec, "archive", spec.archive.string() + ": no such file");
  auto bytes = read_file(spec.archive);
  if (!bytes) refuse(spec.archive_at, spec, "archive", bytes.error().message);
  const std::string actual = sha256_hex(*bytes);
  if (actual != spec.sha256)
    refuse(spec.sha256_at, spec, "sha256",
           spec.archive.filename().string() + " has SHA-256 " + actual + ", not " + spec.sha256);

  const std::string top = "etcd-v" + spec.version + "-linux-amd64";
  auto listing = run_process({"tar", "-tzf", spec.archive.string()});
  if (!listing || listing->exit_status != 0)
    refuse(spec.archive_at, spec, "archive",
           spec.archive.filename().string() + " is not a gzip'd tar archive");
  std::set<std::string> entries;
  std::istringstream in(listing->output);
  for (std::string line; std::getline(in, line);) {
    while (line.size() > 1 && line.back() == '/') line.pop_back();
    if (line.rfind("./", 0) == 0) line = line.substr(2);
    if (line != top && line.rfind(top + "/", 0) != 0)
      refuse(spec.archive_at, spec, "archive",
             "\"" + line + "\" is outside the top folder " + top + "/ (upstream's layout)");
    entries.insert(line);
  }
  std::vector<std::string> binaries = {"etcd", "etcdctl"};
  // etcdutl came with 3.5; 3.3 and 3.4 releases have none.
  int major = 0, minor = 0;
  std::sscanf(spec.version.c_str(), "%d.%d", &major, &minor);
  if (major > 3 || (major == 3 && minor >= 5)) binaries.push_back("etcdutl");
  for (const auto& b : binaries)
    if (!entries.count(top + "/" + b))
      refuse(spec.archive_at, spec, "archive",
             spec.archive.filename().string() + " has no " + top + "/" + b);

  const ScratchDir scratch;
  auto unpacked = run_process({"tar", "-xzf", spec.archive.string(), "-C", scratch.path().string(),
                               top + "/etcd", top + "/etcdctl"});
  if (!unpacked || unpacked->exit_status != 0)
    refuse(spec.archive_at, spec, "archive",
           "cannot unpack " + spec.archive.filename().string() + ": " +
               (unpacked ? unpacked->output : unpacked.error().message));
  // nobody (version_output) must reach and run them, whatever modes the archive gave.
  for (const fs::path& f : {scratch.path(), scratch.path() / top, scratch.path() / top / "etcd",
                            scratch.path() / top / "etcdctl"})
    fs::permissions(f, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec, ec);
  // etcdctl from 3.4 on says its version with `version` (and refuses --version); 3.3's
  // defaults to the v2 API, whose etcdctl has only --version.
  const std::tuple<const char*, std::string, std::vector<std::string>> expected[] = {
      {"etcd", "etcd Version: " + spec.version + "\n", {"--version"}},
      {"etcdctl", "etcdctl version: " + spec.version + "\n", {"version", "--version"}}};
  for (const auto& [b, says, args] : expected) {
    std::string out;
    for (const auto& arg : args) {
      out = version_output(scratch.path() / top / b, arg);
      if (out.find(says) != std::string::npos) break;
    }
    if (out.find(says) == std::string::npos) {
      std::string first = out.substr(0, out.find('\n'));
      if (first.size() > 120) first = first.substr(0, 120) + "...";
      refuse(spec.archive_at, spec, "archive",
             top + "/" + b + " " + args.back() + " does not say \"" + says.substr(0, says.size() - 1) +
                 "\" (it says \"" + first + "\"): not etcd " + spec.version);
    }
  }
}

std::string etcd_archives_id(const std::vector<EtcdArchiveSpec>& archives) {
  std::string id;
  for (const auto& a : archives) {
    if (!id.empty()) id += ",";
    id += a.version + (a.install ? "+" : "") + ":" + a.sha256;
  }
  return id;
}

}  // namespace dcslab
