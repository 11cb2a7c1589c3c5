#include "cli/daemon_commands.h"

#include <cstdio>

#include "base/progress.h"
#include "control/exec_mux.h"
#include "providers/daemons.h"
#include "ssh/ssh_transport.h"

namespace fs = std::filesystem;

namespace dcslab {

const char* const kExecMuxHelp = R"(usage: dcslab exec-mux DIR MS

The exec multiplexer of the lab whose state folder is DIR: keeps SSH sessions open for
`dcslab exec` and exits after MS milliseconds without a command. `dcslab exec` starts it
(inside the lab's namespace); not for typing.
)";

const char* const kLibvirtdHelp = R"(usage: dcslab libvirtd start DIR
       dcslab libvirtd stop DIR

A private libvirtd as dcslab runs one for an isolated libvirt lab, for scripts that need
a libvirtd of their own (bench/vagrant_up.sh): its own /run/libvirt, /etc/libvirt,
/var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt from DIR/{run,etc,lib,cache,log}
in a mount namespace, QEMU as root, the host's configuration copied without its
autostarted networks and pools. It runs in the current network namespace, which must
not be the host's:

  ip netns add NS
  uri=$(ip netns exec NS dcslab libvirtd start "$PWD/lvd")   # prints the URI, once answering
  virsh -c "$uri" ...                                     # from anywhere: a Unix socket
  ip netns exec NS dcslab libvirtd stop "$PWD/lvd"

  start DIR   starts virtlogd and libvirtd (or finds them answering) and prints the URI,
              qemu:///system?socket=DIR/run/libvirt-sock
  stop DIR    stops the daemons started with DIR (only those: each pid is checked to be
              that daemon) and removes DIR/run; succeeds when they are gone already.
              Domains, networks and pools it holds are not removed: destroy them first.

DIR must be an absolute path. Exit status: 0 done, 2 bad input or refused (the host's
network namespace), 3 the daemon failed to start or stop.
)";

int cmd_exec_mux(Context& ctx) {
  const auto& a = ctx.args();
  if (a.size() != 2 || a[1].empty() || a[1].find_first_not_of("0123456789") != std::string::npos)
    bad_usage("exec-mux", "exec-mux: expected DIR MS");
  return mux_daemon(a[0], std::chrono::milliseconds(std::stoll(a[1])),
                    [](const SshTarget& t) -> Expected<std::unique_ptr<Transport>> {
                      auto c = SshTransport::connect(t);
                      if (!c) return c.error();
                      return std::unique_ptr<Transport>(std::move(*c));
                    });
}

int cmd_libvirtd(Context& ctx) {
  const auto& a = ctx.args();
  if (a.size() != 2 || (a[0] != "start" && a[0] != "stop"))
    bad_usage("libvirtd", "libvirtd: expected start DIR or stop DIR");
  const fs::path dir = a[1];
  if (!dir.is_absolute()) bad_usage("libvirtd", "libvirtd: DIR must be an absolute path (\"" + a[1] + "\")");
  if (a[0] == "stop") {
    auto stopped = stop_libvirtd_in(dir);
    return stopped ? 0 : infrastructure_failure(ctx, stopped.error().message);
  }
  ConsoleProgress progress;  // on stderr: stdout is the URI alone
  auto uri = start_libvirtd_in(dir, progress);
  if (!uri) {
    if (uri.error().kind == Failure::Kind::Refused) throw BadInput("libvirtd start: " + uri.error().message);
    return infrastructure_failure(ctx, uri.error().message);
  }
  std::printf("%s\n", uri->c_str());
  return 0;
}

}  // namespace dcslab
