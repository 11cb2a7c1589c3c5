#include "providers/libvirt/libvirt_uri.h"

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
