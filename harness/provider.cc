#include "provider.h"

#include "libvirt_provider.h"
#include "nspawn_provider.h"

namespace dcslab {

// The one place that maps the lab file's provider type to an implementation.
std::unique_ptr<Provider> create_provider(const Lab& lab, LabState& state) {
  if (lab.provider.type == "libvirt") return make_libvirt_provider(lab, state);
  if (lab.provider.type == "nspawn") return make_nspawn_provider(lab, state);
  // Accepted by the lab file so that lab files written for it load, but not built yet:
  // a clear error instead of a half-working provider.
  if (lab.provider.type == "virtualbox")
    throw Fatal("provider virtualbox is not available in this version of dcslab; use "
                "provider: libvirt or nspawn (--provider)");
  throw Fatal("unknown provider type \"" + lab.provider.type + "\"");
}

}  // namespace dcslab
