// Whole files, once for the harness: read one into a string, write one, or replace one
// so that a crash leaves either the old or the new content, never a torn file. As
// ccache's util/file.hpp, failures are values naming the path and the system's reason.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace dcslab {

// The file's bytes. NotFound when it does not exist; Error (path and strerror) when it
// cannot be read. Reads until end of file, so /proc and /sys files (which report size
// 0) come whole.
Expected<std::string> read_file(const std::filesystem::path& path);

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

}  // namespace dcslab
