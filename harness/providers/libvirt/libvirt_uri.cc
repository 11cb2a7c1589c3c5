#include "providers/libvirt/libvirt_uri.h"

#include <cstdlib>
#include <filesystem>

#include "base/file.h"
#include "base/text.h"
#include "providers/provider.h"

namespace dcslab {

bool libvirt_uri_is_remote(const std::string& uri) {
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = uri.substr(0, scheme_end);
  if (const auto plus = scheme.find('+'); plus != std::string::npos) {
    const std::string transport = scheme.substr(plus + 1);
    if (transport != "unix" && transport != "ext") return true;
  }
  const std::string rest = uri.substr(scheme_end + 3);
  const auto host_end = rest.find_first_of("/?");
  const std::string authority = rest.substr(0, host_end);
  const std::string host = authority.substr(authority.find('@') == std::string::npos
                                                ? 0
                                                : authority.find('@') + 1);
  return !host.empty();  // libvirt reaches a named host over TLS by default, even localhost
}

std::string libvirt_qemu_pidfile(const std::string& uri, const std::string& domain) {
  if (uri.rfind("qemu:", 0) != 0 && uri.rfind("qemu+unix:", 0) != 0) return "";
  if (libvirt_uri_is_remote(uri)) return "";
  if (const auto at = uri.find("socket="); at != std::string::npos) {
    std::string socket = uri.substr(at + 7);
    socket = socket.substr(0, socket.find('&'));
    return (std::filesystem::path(socket).parent_path() / "qemu" / (domain + ".pid")).string();
  }
  if (uri.find("/session") != std::string::npos) {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (!runtime || !*runtime) return "";
    return std::string(runtime) + "/libvirt/qemu/run/" + domain + ".pid";
  }
  return "/run/libvirt/qemu/" + domain + ".pid";
}

std::optional<ProcessId> libvirt_qemu_process(const std::string& pidfile, const std::string& domain) {
  if (pidfile.empty()) return std::nullopt;
  auto text = read_file(pidfile);
  if (!text) return std::nullopt;
  const std::string pid_text = trim(*text);
  if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
  auto id = process_id(pid);
  if (!id) return std::nullopt;
  auto cmdline = read_file("/proc/" + pid_text + "/cmdline");
  if (!cmdline) return std::nullopt;
  // argv is NUL-separated: "-name", "guest=<domain>,debug-threads=on".
  const std::string guest = "guest=" + domain;
  for (std::size_t at = cmdline->find(guest); at != std::string::npos; at = cmdline->find(guest, at + 1)) {
    const bool starts = at == 0 || (*cmdline)[at - 1] == '\0';
    const std::size_t end = at + guest.size();
    const bool ends = end == cmdline->size() || (*cmdline)[end] == ',' || (*cmdline)[end] == '\0';
    if (starts && ends) return id;
  }
  return std::nullopt;
}

void check_libvirt_provider_section(const Lab& lab) {
  if (!libvirt_uri_is_remote(lab.provider.uri)) return;
  bad_provider_section(lab, lab.provider.uri_at, "provider.uri",
                       "\"" + lab.provider.uri +
                           "\" names a remote libvirt host; dcslab drives the libvirt of the "
                           "machine it runs on (the image, kernel and identity disks are local "
                           "files, and the nodes' network must be in the harness's namespace): "
                           "run dcslab on each hypervisor host instead (docs/REMOTE.md)");
}

}  // namespace dcslab
