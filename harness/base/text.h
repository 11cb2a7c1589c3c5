// String primitives, once for the whole harness: trimming, joining, hex and base64,
// a stable (non-cryptographic) hash for resource names, and UTC timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dcslab {

// `s` without its leading and trailing blanks (space, tab, CR, LF).
std::string trim(std::string_view s);
// `s` without its trailing blanks (command output without its final newline), or
// without any trailing character of `chars` ("\r\n": only line ends).
std::string rtrim(std::string_view s, std::string_view chars = " \t\r\n");

// `s` without terminal escape sequences (CSI, "ESC [ ... final byte", as systemd colours
// its console lines with); a lone ESC goes too.
std::string strip_ansi(std::string_view s);

// The parts with `sep` between them.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Lower-case hex of the bytes.
std::string hex(std::string_view bytes);

// Base64 as etcd's gateway and QEMU's guest agent write it (standard alphabet, padded).
std::string base64_encode(std::string_view data);
// False when `text` is not base64 (the URL-safe alphabet is accepted too).
bool base64_decode(std::string_view text, std::string* out);

// FNV-1a's steps, 64 bits, from an offset basis of 1469598103934665603 (FNV's own has one
// digit more; kept, since existing labs' names and MACs derive from it): the same text
// gives the same number on every build and host. Not for secrets.
std::uint64_t stable_hash(std::string_view text);

// `t` in UTC as ISO 8601 with seconds ("2026-12-03T09:07:16Z"); the second is truncated.
std::string utc_iso8601(std::chrono::system_clock::time_point t);
// The current UTC time so.
std::string utc_now_iso8601();
// `t` in UTC without separators ("20261203T090716Z"): file and folder names that sort by
// time.
std::string utc_compact(std::chrono::system_clock::time_point t);

// A size as people write it: "4096", "512KiB", "16MiB", "1GiB" (K, M, G alone mean the
// same binary units); nullopt for anything else or past 2^62.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);
// `bytes` for a reader: "812 bytes", "16 MiB", "1.5 GiB".
std::string format_bytes(std::uint64_t bytes);

}  // namespace dcslab
