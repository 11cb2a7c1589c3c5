#include "providers/registry.h"

#include "base/error.h"
#include "providers/libvirt/libvirt_provider.h"
#include "providers/libvirt/libvirt_uri.h"
#include "providers/nspawn/nspawn_provider.h"
#include "providers/virtualbox/virtualbox_provider.h"

namespace dcslab {

namespace {

// The make_*_provider functions are overloaded (tests inject hosts); these pick the one
// the registry uses.
std::unique_ptr<Provider> libvirt(const Lab& lab, LabState& state) {
  return make_libvirt_provider(lab, state);
}
std::unique_ptr<Provider> nspawn(const Lab& lab, LabState& state) {
  return make_nspawn_provider(lab, state);
}
std::unique_ptr<Provider> virtualbox(const Lab& lab, LabState& state) {
  return make_virtualbox_provider(lab, state);
}

constexpr ProviderEntry kProviders[] = {
    {"libvirt", "QEMU VMs through libvirt (memory snapshots, faults)", libvirt,
     check_libvirt_provider_section},
    {"nspawn", "systemd-nspawn containers from the same image (fast; no snapshots)", nspawn,
     nullptr},
    {"virtualbox", "VirtualBox VMs through VBoxManage (not isolated)", virtualbox, nullptr},
};

}  // namespace

std::span<const ProviderEntry> provider_registry() { return kProviders; }

const ProviderEntry* find_provider(std::string_view name) {
  for (const auto& p : kProviders)
    if (p.name == name) return &p;
  return nullptr;
}

std::string provider_names() {
  std::string names;
  for (const auto& p : kProviders) names += (names.empty() ? "" : ", ") + std::string(p.name);
  return names;
}

void check_provider_section(const Lab& lab) {
  const ProviderEntry* p = find_provider(lab.provider.type);
  if (!p)
    bad_provider_section(lab, lab.provider.type_at, "provider.type",
                         "unknown provider \"" + lab.provider.type + "\" (valid: " +
                             provider_names() + ")");
  if (p->check_section) p->check_section(lab);
}

// Declared in provider.h: every caller that holds a lab gets its provider from here.
std::unique_ptr<Provider> create_provider(const Lab& lab, LabState& state) {
  const ProviderEntry* p = find_provider(lab.provider.type);
  if (!p) throw Fatal("unknown provider type \"" + lab.provider.type + "\"");
  return p->create(lab, state);
}

}  // namespace dcslab
