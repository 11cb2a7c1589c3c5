// libvirt handles owned by unique_ptr with their free functions, and
// libvirt errors turned into Failure values. libvirt's default error handler prints every
// error to stderr as it happens; we silence it so that each error is reported once, by
// whoever receives the Failure, with the context of what we were doing.
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <memory>
#include <mutex>
#include <string>

#include "base/error.h"

namespace dcslab {

struct VirConnectDeleter { void operator()(virConnectPtr p) const { virConnectClose(p); } };
struct VirDomainDeleter { void operator()(virDomainPtr p) const { virDomainFree(p); } };
struct VirNetworkDeleter { void operator()(virNetworkPtr p) const { virNetworkFree(p); } };
struct VirPoolDeleter { void operator()(virStoragePoolPtr p) const { virStoragePoolFree(p); } };
struct VirVolDeleter { void operator()(virStorageVolPtr p) const { virStorageVolFree(p); } };
struct VirSnapshotDeleter { void operator()(virDomainSnapshotPtr p) const { virDomainSnapshotFree(p); } };
struct VirCharDeleter { void operator()(char* p) const { free(p); } };  // strings libvirt returns

using VirConnect = std::unique_ptr<virConnect, VirConnectDeleter>;
using VirDomain = std::unique_ptr<virDomain, VirDomainDeleter>;
using VirNetwork = std::unique_ptr<virNetwork, VirNetworkDeleter>;
using VirPool = std::unique_ptr<virStoragePool, VirPoolDeleter>;
using VirVol = std::unique_ptr<virStorageVol, VirVolDeleter>;
using VirSnapshot = std::unique_ptr<virDomainSnapshot, VirSnapshotDeleter>;
using VirChars = std::unique_ptr<char, VirCharDeleter>;

// Installs a no-op error handler for this process (once). Errors stay retrievable with
// virGetLastError in the thread that caused them.
inline void silence_libvirt_errors() {
  static std::once_flag once;
  std::call_once(once, [] {
    virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});
  });
}

// The libvirt error code of the calling thread's last error (VIR_ERR_OK if none).
inline int libvirt_last_code() {
  const virError* e = virGetLastError();
  return e ? e->code : VIR_ERR_OK;
}

// "<what>: <libvirt's message>" as a Failure; "not found" codes become NotFound so that
// callers can tell "already gone" from "failed".
inline Failure libvirt_failure(const std::string& what) {
  const virError* e = virGetLastError();
  const std::string msg = what + ": " + (e && e->message ? e->message : "unknown libvirt error");
  const int code = e ? e->code : VIR_ERR_OK;
  switch (code) {
    case VIR_ERR_NO_DOMAIN:
    case VIR_ERR_NO_NETWORK:
    case VIR_ERR_NO_STORAGE_POOL:
    case VIR_ERR_NO_STORAGE_VOL:
    case VIR_ERR_NO_DOMAIN_SNAPSHOT:
      return Failure::not_found(msg);
    case VIR_ERR_OPERATION_TIMEOUT:
      return Failure::timeout(msg);
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_AUTH_FAILED:
    case VIR_ERR_AUTH_CANCELLED:
      return Failure::refused(msg);
    default:
      return Failure::error(msg);
  }
}

// Opens a read-write connection; Refused when nothing answers at `uri`.
inline Expected<VirConnect> libvirt_connect(const std::string& uri) {
  silence_libvirt_errors();
  virConnectPtr c = virConnectOpen(uri.c_str());
  if (!c) {
    Failure f = libvirt_failure("cannot connect to libvirt at " + uri);
    f.kind = Failure::Kind::Refused;
    return f;
  }
  return VirConnect(c);
}

}  // namespace dcslab
