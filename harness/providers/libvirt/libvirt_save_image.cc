#include "providers/libvirt/libvirt_save_image.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "base/fd.h"
#include "base/sigpipe_block.h"

namespace dcslab {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// libvirt writes the header in host byte order; dcslab runs where the daemon does.
uint32_t get_u32(std::string_view b, std::size_t at) {
  uint32_t v = 0;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}
void put_u32(std::string& b, uint32_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }

}  // namespace

Expected<SaveImageHeader> parse_save_header(std::string_view bytes) {
  if (bytes.size() < kSaveHeaderSize || bytes.substr(0, kSaveImageMagic.size()) != kSaveImageMagic)
    return Failure::error("not a libvirt QEMU save image (no LibvirtQemudSave header)");
  SaveImageHeader h;
  std::size_t at = kSaveImageMagic.size();
  h.version = get_u32(bytes, at);
  h.data_len = get_u32(bytes, at + 4);
  h.was_running = get_u32(bytes, at + 8);
  h.compressed = get_u32(bytes, at + 12);
  const uint32_t cookie_offset = get_u32(bytes, at + 16);
  for (std::size_t i = 0; i < h.unused.size(); ++i) h.unused[i] = get_u32(bytes, at + 20 + 4 * i);
  if (h.version != 2)
    return Failure::error("libvirt save image version " + std::to_string(h.version) +
                          " (only version 2 is known)");
  if (bytes.size() < kSaveHeaderSize + h.data_len)
    return Failure::error("libvirt save image header cut short (data_len " +
                          std::to_string(h.data_len) + ")");
  const std::string_view data = bytes.substr(kSaveHeaderSize, h.data_len);
  const auto xml_end = data.find('\0');
  if (xml_end == std::string_view::npos)
    return Failure::error("libvirt save image: domain XML without its NUL");
  h.xml = std::string(data.substr(0, xml_end));
  if (cookie_offset != 0) {
    if (cookie_offset > data.size())
      return Failure::error("libvirt save image: cookie offset beyond data_len");
    const auto cookie = data.substr(cookie_offset);
    h.cookie = std::string(cookie.substr(0, cookie.find('\0')));
  }
  return h;
}

Expected<SaveImageHeader> read_save_header(const fs::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Failure::not_found("cannot open " + file.string() + ": " + std::strerror(errno));
  std::string bytes(kSaveHeaderSize, '\0');
  if (::pread(fd.get(), bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    return Failure::error(file.string() + " is too short for a libvirt save image");
  if (std::string_view(bytes).substr(0, kSaveImageMagic.size()) != kSaveImageMagic)
    return Failure::error(file.string() + " is not a libvirt QEMU save image");
  const uint32_t data_len = get_u32(bytes, kSaveImageMagic.size() + 4);
  bytes.resize(kSaveHeaderSize + data_len);
  if (::pread(fd.get(), bytes.data() + kSaveHeaderSize, data_len, kSaveHeaderSize) !=
      static_cast<ssize_t>(data_len))
    return Failure::error(file.string() + ": libvirt save image header cut short");
  auto h = parse_save_header(bytes);
  if (!h) return Failure::error(file.string() + ": " + h.error().message);
  return h;
}

Expected<std::string> save_header_bytes(const SaveImageHeader& header, std::string_view xml) {
  if (xml.find('\0') != std::string_view::npos)
    return Failure::error("a domain XML with a NUL cannot go into a save image header");
  const std::size_t used = xml.size() + 1 + (header.cookie.empty() ? 0 : header.cookie.size() + 1);
  if (used > header.data_len)
    return Failure::error("the domain XML (" + std::to_string(xml.size()) +
                          " bytes) does not fit in the template's save image header (" +
                          std::to_string(header.data_len) + " bytes with the cookie)");
  std::string out(kSaveImageMagic);
  put_u32(out, header.version);
  put_u32(out, header.data_len);
  put_u32(out, header.was_running);
  put_u32(out, header.compressed);
  put_u32(out, header.cookie.empty() ? 0 : static_cast<uint32_t>(xml.size() + 1));
  for (uint32_t u : header.unused) put_u32(out, u);
  out.append(xml);
  out.push_back('\0');
  if (!header.cookie.empty()) {
    out.append(header.cookie);
    out.push_back('\0');
  }
  out.resize(kSaveHeaderSize + header.data_len, '\0');
  return out;
}

Expected<void> write_clone_save_image(const fs::path& template_file, std::string_view xml,
                                      const fs::path& out, const std::atomic<bool>& cancel) {
  DCSLAB_TRY_ASSIGN(auto header, read_save_header(template_file));
  DCSLAB_TRY_ASSIGN(auto bytes, save_header_bytes(header, xml));
  Fd in(::open(template_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return Failure::error("cannot open " + template_file.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return Failure::error("cannot stat " + template_file.string());

  // A FIFO's O_NONBLOCK open for writing fails (ENXIO) until a reader has it open.
  Fd fd;
  for (;;) {
    fd.reset(::open(out.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd) break;
    if (errno != ENXIO) return Failure::error("cannot open " + out.string() + ": " + std::strerror(errno));
    if (cancel.load()) return Failure::error("nobody read " + out.string());
    std::this_thread::sleep_for(5ms);  // libvirtd opens it within the restore call
  }
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  SigpipeBlock no_sigpipe;  // a reader that gives up is EPIPE, not the end of dcslab
  std::string_view rest = bytes;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Failure::error("writing the save image header to " + out.string() + ": " + std::strerror(errno));
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  off_t offset = static_cast<off_t>(header.stream_offset());
  while (offset < st.st_size) {
    const ssize_t n = ::sendfile(fd.get(), in.get(), &offset, static_cast<std::size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Failure::error("streaming " + template_file.string() + " to " + out.string() + ": " + std::strerror(errno));
  }
  if (!fd.close()) return Failure::error("closing " + out.string() + ": " + std::strerror(errno));
  return {};
}

}  // namespace dcslab
