#include "providers/libvirt/libvirt_uri.h"

#include <gtest/gtest.h>

namespace dcslab {
namespace {

TEST(LibvirtUri, RemoteOrLocal) {
  for (const char* local : {"qemu:///system", "qemu:///session", "test:///default",
                            "qemu+unix:///system?socket=/run/x/libvirt-sock"}) {
    EXPECT_FALSE(libvirt_uri_is_remote(local)) << local;
  }
  for (const char* remote : {"qemu+ssh://hv1/system", "qemu+ssh://root@hv1:2222/system",
                             "qemu+tcp://10.0.0.5/system", "qemu://hv1/system",
                             "qemu+libssh2://u@hv1/system?known_hosts=/k",
                             "qemu+tls://localhost/system"}) {
    EXPECT_TRUE(libvirt_uri_is_remote(remote)) << remote;
  }
}

}  // namespace
}  // namespace dcslab
