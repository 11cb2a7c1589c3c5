// libvirt's QEMU save image ("LibvirtQemudSave", version 2; libvirt's qemu_saveimage.h
// calls the layout ABI): a 92-byte header, then data_len bytes holding the domain XML,
// a NUL, the QEMU cookie, a NUL and zero padding (libvirt leaves room to edit the XML
// later), then QEMU's migration stream.
//
// A template clone (libvirt_template.h) is restored from the template's save image with
// the clone's own XML in the header: libvirt refuses a restore whose --xml changes the
// name, UUID or a MAC, and it compares with the header's XML, not with the QEMU stream.
// So the harness writes the header itself, into a FIFO libvirt reads from, followed by
// the template's stream unchanged: nothing is copied on disk.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/error.h"

namespace dcslab {

inline constexpr std::string_view kSaveImageMagic = "LibvirtQemudSave";
inline constexpr std::size_t kSaveHeaderSize = 92;  // magic[16] + 19 uint32

struct SaveImageHeader {
  uint32_t version = 2;
  uint32_t data_len = 0;      // bytes of XML + cookie + padding after the header
  uint32_t was_running = 0;
  uint32_t compressed = 0;    // 0: raw; a template must be raw (see libvirt_template.cc)
  std::array<uint32_t, 14> unused{};
  std::string xml;            // the domain XML, without its NUL
  std::string cookie;         // QEMU's cookie (XML too), without its NUL; may be empty
  // Where QEMU's stream starts in the file.
  uint64_t stream_offset() const { return kSaveHeaderSize + data_len; }
};

// Parses the first kSaveHeaderSize + data_len bytes of a save image (more are ignored).
Expected<SaveImageHeader> parse_save_header(std::string_view bytes);
// Reads and parses the header of the save image `file`.
Expected<SaveImageHeader> read_save_header(const std::filesystem::path& file);

// The bytes of a header like `header` (its data_len, flags and cookie) with `xml` as the
// domain XML: magic, the fields, XML NUL cookie NUL, zeros up to data_len. Refuses an XML
// that does not fit in data_len, or one containing a NUL.
Expected<std::string> save_header_bytes(const SaveImageHeader& header, std::string_view xml);

// Writes `template_file`'s save image with `xml` in its header to `out` (a FIFO libvirt
// reads, or a file): the header, then the template's stream (sendfile). A FIFO is opened
// without blocking and retried until a reader comes or `cancel` turns true (the restore
// failed before opening it), so this never hangs on a reader that will not come.
Expected<void> write_clone_save_image(const std::filesystem::path& template_file,
                                      std::string_view xml, const std::filesystem::path& out,
                                      const std::atomic<bool>& cancel);

}  // namespace dcslab
