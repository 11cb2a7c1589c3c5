#include "base/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/fd.h"
#include "base/interrupt.h"

namespace dcslab {

namespace fs = std::filesystem;

namespace {

Failure io_failure(const std::string& what, const fs::path& path, int err) {
  const std::string m = "cannot " + what + " " + path.string() + ": " + std::strerror(err);
  return err == ENOENT ? Failure::not_found(m) : Failure::error(m);
}

// write(2) until all of `data` is out (a pipe or a signal may cut a write short).
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Expected<std::string> read_file(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return io_failure("read", path, errno);
  std::string out;
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_failure("read", path, errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Expected<std::string> read_file_from(const fs::path& path, std::uint64_t from, std::size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return io_failure("read", path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_failure("read", path, errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (from > size) from = 0;
  if (size - from > max_bytes) from = size - max_bytes;
  std::string out(static_cast<size_t>(size - from), '\0');
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::pread(fd.get(), out.data() + got, out.size() - got,
                              static_cast<off_t>(from + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_failure("read", path, errno);
    if (n == 0) break;  // cut short meanwhile
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Expected<void> write_file(const fs::path& path, std::string_view data, std::optional<mode_t> mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode.value_or(0666)));
  if (!fd) return io_failure("write", path, errno);
  if (mode && ::fchmod(fd.get(), *mode) != 0) return io_failure("set the mode of", path, errno);
  if (!write_all(fd.get(), data) || !fd.close()) return io_failure("write", path, errno);
  return {};
}

Expected<void> write_file_atomic(const fs::path& path, std::string_view data, mode_t mode) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  // mkostemp's random suffix: threads and processes writing the same path at once each
  // get their own temporary file.
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  Fd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd) return io_failure("create a temporary file for", path, errno);
  const fs::path tmp(name.data());
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return io_failure(what, what == "write" ? tmp : path, err);
  };
  if (!write_all(fd.get(), data)) return fail("write", errno);
  if (::fchmod(fd.get(), mode) != 0) return fail("set the mode of", errno);
  if (::fsync(fd.get()) != 0) return fail("write", errno);
  if (!fd.close()) return fail("write", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("replace", errno);
  // The rename is durable only once the folder's entry is on disk too.
  // A file system that cannot sync a folder (EINVAL) has nothing more to make durable.
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd || (::fsync(dir_fd.get()) != 0 && errno != EINVAL))
    return io_failure("sync the folder of", path, errno);
  return {};
}

Expected<Fd> lock_file(const std::filesystem::path& path, Clock& clock, Clock::duration limit,
                       const std::function<void()>& waiting) {
  std::error_code ec;
  const int flags = std::filesystem::is_directory(path, ec) ? O_RDONLY | O_DIRECTORY
                                                           : O_RDWR | O_CREAT;
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (!fd) return Failure::error("cannot open " + path.string() + ": " + std::strerror(errno));
  std::string error;
  bool told = false;
  auto locked = poll_until<bool>(
      clock, limit, std::chrono::milliseconds(200), "the lock " + path.string(),
      [&](std::string* why) -> std::optional<bool> {
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return true;
        if (errno != EWOULDBLOCK && errno != EINTR) {
          error = "cannot lock " + path.string() + ": " + std::strerror(errno);
          return false;
        }
        if (g_interrupted) {
          error = "interrupted while waiting for the lock " + path.string();
          return false;
        }
        if (!told && waiting) waiting();
        told = true;
        *why = "held by another process";
        return std::nullopt;
      });
  if (!locked) return locked.error();
  if (!*locked) return Failure::error(error);
  return fd;
}

}  // namespace dcslab
