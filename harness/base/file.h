// Whole files, once for the harness: read one into a string, write one, or replace one
// so that a crash leaves either the old or the new content, never a torn file. As
// ccache's util/file.hpp, failures are values naming the path and the system's reason.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/error.h"
#include "base/fd.h"

namespace dcslab {

// The file's bytes. NotFound when it does not exist; Error (path and strerror) when it
// cannot be read. Reads until end of file, so /proc and /sys files (which report size
// 0) come whole.
Expected<std::string> read_file(const std::filesystem::path& path);

// The file's bytes from offset `from` to its end, at most the last `max_bytes` of them
// (a log that grows while a caller watches it). A file shorter than `from` (replaced or
// truncated meanwhile) reads from its start. NotFound and Error as read_file.
Expected<std::string> read_file_from(const std::filesystem::path& path, std::uint64_t from,
                                     std::size_t max_bytes);

// Writes `data` to `path`, creating or truncating it. A new file gets 0666 less the
// umask; with `mode` the file ends up with exactly that mode, new or not.
Expected<void> write_file(const std::filesystem::path& path, std::string_view data,
                          std::optional<mode_t> mode = std::nullopt);

// Replaces `path` with `data` and `mode` (exactly; the umask does not narrow it) as one
// step: written to a temporary file in the same folder (created 0600, so a private key
// is never readable by others even for an instant), fsynced, renamed over `path`, and
// the folder fsynced so the rename survives a crash. Concurrent writers of one path do
// not share a temporary file; the last rename wins.
Expected<void> write_file_atomic(const std::filesystem::path& path, std::string_view data,
                                 mode_t mode);

// An exclusive flock(2) on `path` (a folder, or a file created 0600 if missing), held as long as the Fd
// lives (the kernel drops it with the descriptor, also when the process dies). Busy, it
// is tried again every 200 ms on `clock` up to `limit`; `waiting` runs once, at the first
// miss, so a caller can say what it waits for. Timeout after `limit`; Error if the file
// cannot be opened or Ctrl-C (g_interrupted) came while waiting.
Expected<Fd> lock_file(const std::filesystem::path& path, Clock& clock, Clock::duration limit,
                       const std::function<void()>& waiting = {});

}  // namespace dcslab
