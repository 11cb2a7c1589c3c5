#include "control/lab_ops.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/text.h"
#include "control/exec_mux.h"
#include "lab/identity.h"
#include "lab/etcd_archive.h"
#include "lab/image.h"
#include "ssh/keys.h"
#include "lab/netns.h"
#include "ssh/ssh_transport.h"

namespace dcslab {

namespace fs = std::filesystem;


namespace {

fs::path host_key_path(const LabState& state, const std::string& node) {
  return state.dir() / "nodes" / node / "ssh_host_ed25519_key";
}

std::string tail_lines(const fs::path& file, int n) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > n) lines.erase(lines.begin());
  }
  std::string out;
  for (const auto& l : lines) out += "    | " + l + "\n";
  return out;
}

SshTarget target_for(const LabState& state, const Node& node, const std::string& user) {
  SshTarget t;
  t.node = node.name;
  t.host = node.ip.str();
  t.port = 22;
  t.user = user;
  t.identity_file = state.lab_key();
  t.known_hosts_for_messages = state.known_hosts();
  t.connect_timeout = ssh_connect_timeout(state);
  const auto pub = fs::path(host_key_path(state, node.name).string() + ".pub");
  // None yet (a node never brought up) pins nothing; the connection then says so.
  if (auto line = read_file(pub)) t.pinned_host_key = rtrim(*line);
  return t;
}

// The network safety rule, enforced where traffic would start: nodes are only contacted
// when the lab network (the host's address on it) is in this network namespace.
Expected<void> check_network_local(const Lab& lab, const LabState& state) {
  if (lab_network_is_local(lab)) return {};
  const std::string ns = state.get("netns");
  return Failure::refused(
      "the lab network " + lab.network.cidr.str() + " (host address " + lab.network.host.str() +
      ") is not in this network namespace" +
      (ns.empty() ? std::string("; is the lab up? (dcslab up)")
                  : "; the lab lives in network namespace " + ns) +
      " — dcslab does not send lab traffic to a network it did not create or find here");
}

}  // namespace

void use_recorded_provider(Lab& lab, const LabState& state) {
  const std::string recorded = state.get("provider");
  if (!recorded.empty() && !state.empty()) lab.provider.type = recorded;
}

namespace {

// The line of `text` holding `at`, without its line end.
std::string line_at(const std::string& text, std::size_t at) {
  const auto begin = text.rfind('\n', at);
  const auto end = text.find('\n', at);
  const std::size_t from = begin == std::string::npos ? 0 : begin + 1;
  return rtrim(strip_ansi(text.substr(from, end == std::string::npos ? std::string::npos : end - from)));
}

}  // namespace

std::optional<std::string> console_fatal(const fs::path& console_log, std::uint64_t from) {
  auto read = read_file_from(console_log, from, 65536);
  if (!read) return std::nullopt;
  const std::string& text = *read;
  const std::string where = " (" + console_log.string() + "): ";
  for (const char* marker : {"Kernel panic - not syncing", "---[ end Kernel panic"}) {
    const auto at = text.find(marker);
    if (at != std::string::npos) return "the node's kernel panicked" + where + line_at(text, at);
  }
  // systemd as PID 1 gives up: a container's leaves ("Exiting PID 1..."), a VM's halts.
  for (const char* marker : {"Exiting PID 1", "Freezing execution"}) {
    const auto at = text.find(marker);
    if (at == std::string::npos) continue;
    std::string why = "the node's systemd gave up" + where;
    const auto cause = text.find("Failed to allocate manager object");
    why += cause != std::string::npos && cause < at ? line_at(text, cause) : line_at(text, at);
    const auto inotify = text.find("inotify object: Too many open files");
    if (inotify != std::string::npos) {
      auto limit = read_file("/proc/sys/fs/inotify/max_user_instances");
      why += "; the host is out of inotify instances (fs.inotify.max_user_instances = " +
             (limit ? trim(*limit) : std::string("?")) +
             ", which every running container's systemd draws on): take other labs down, "
             "or raise it (sysctl -w fs.inotify.max_user_instances=1024)";
    }
    return why;
  }
  // systemd-nspawn's own last word on a container that ended.
  for (const char* marker : {" failed with error code ", " terminated by signal "}) {
    const auto at = text.find(marker);
    if (at != std::string::npos && line_at(text, at).rfind("Container ", 0) == 0)
      return "the container ended" + where + line_at(text, at);
  }
  return std::nullopt;
}

Expected<void> enter_lab_namespace(const LabState& state) {
  const std::string ns = state.get("netns");
  if (ns.empty()) return {};
  return netns_enter(ns);
}

Expected<std::vector<NodeTiming>> lab_up(const Lab& lab, LabState& state, const UpOptions& options,
                                         Progress& progress) {
  const auto started = std::chrono::steady_clock::now();

  mux_stop(state.dir());  // sessions to machines about to be replaced
  state.set("provider", lab.provider.type);

  // 1. Isolation: a network namespace of the lab's own, recorded before it is made.
  if (options.isolated && state.get("netns").empty()) {
    const std::string ns = "dcslab-" + lab.name;
    progress.phase("creating network namespace " + ns);
    state.record({"netns", ns, ""});
    if (!netns_exists(ns)) DCSLAB_TRY(netns_create(ns));
    state.set("netns", ns);
    state.set("isolated", "1");
  }
  DCSLAB_TRY(enter_lab_namespace(state));

  // 2. The image is local: nothing is fetched at up.
  DCSLAB_TRY_ASSIGN(auto image, find_image(dcslab_home(), lab.image.suite,
                                                  etcd_archives_id(lab.image.etcd)));

  // 3. Keys: the lab's own key, and a host key per node that the harness pins.
  state.prepare();
  DCSLAB_TRY_ASSIGN(auto lab_public, generate_ed25519(state.lab_key(), "dcslab-" + lab.name));
  auto provider = create_provider(lab, state);
  UpRequest request;
  request.lab = &lab;
  request.image = &image;
  std::string known_hosts;
  for (const auto& node : lab.nodes) {
    NodeKeys keys;
    keys.host_private = host_key_path(state, node.name);
    state.node_dir(node.name);
    DCSLAB_TRY_ASSIGN(auto host_public, generate_ed25519(keys.host_private, "root@" + node.name));
    keys.host_public = host_public;
    keys.lab_public = lab_public;
    // 4. Identity, applied by the node before its network and sshd start.
    request.identity[node.name] =
        write_identity(lab, node, keys, provider->nic_match(node), state.node_dir(node.name));
    known_hosts += node.ip.str() + "," + node.name + "," + node.fqdn + " " + keys.host_public + "\n";
  }
  {
    std::ofstream out(state.known_hosts());
    out << known_hosts;
  }

  // 5. Machines. A console log goes on from earlier boots: only what this one writes counts.
  std::vector<std::uint64_t> console_from(lab.nodes.size(), 0);
  for (std::size_t i = 0; i < lab.nodes.size(); ++i) {
    std::error_code ec;
    const auto size = fs::file_size(provider->console_log(lab.nodes[i].name), ec);
    if (!ec) console_from[i] = size;
  }
  DCSLAB_TRY(provider->up(request, progress));
  const auto machines_started = std::chrono::steady_clock::now();

  // 6. Wait for SSH on every node at once, each wait bounded and named.
  DCSLAB_TRY(check_network_local(lab, state));
  std::vector<NodeTiming> timings(lab.nodes.size());
  std::vector<std::optional<Failure>> failures(lab.nodes.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < lab.nodes.size(); ++i) {
    threads.emplace_back([&, i] {
      const Node& node = lab.nodes[i];
      const fs::path console = provider->console_log(node.name);
      auto t = wait_for_ssh(target_for(state, node, lab.login.user), RealClock::instance(),
                            options.ssh_timeout, progress,
                            [&] { return console_fatal(console, console_from[i]); });
      timings[i].node = node.name;
      timings[i].seconds_to_ssh =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - machines_started).count();
      if (!t) failures[i] = t.error();
      else progress.done(node.name + " SSH ready in " +
                         fmt::format("{:.1f}", timings[i].seconds_to_ssh) + " s");
    });
  }
  for (auto& t : threads) t.join();
  std::string failed;
  for (std::size_t i = 0; i < lab.nodes.size(); ++i) {
    if (!failures[i]) continue;
    const auto& node = lab.nodes[i];
    failed += "\n  " + node.name + ": " + failures[i]->message + "\n  last lines of " +
              provider->console_log(node.name).string() + ":\n" +
              tail_lines(provider->console_log(node.name), 15);
  }
  if (!failed.empty())
    return Failure::timeout("not every node answered SSH:" + failed +
                            "  the lab is kept for inspection; `dcslab down` removes it");
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  progress.done(fmt::format("lab {} up: {} nodes SSH-ready in {:.1f} s", lab.name,
                            lab.nodes.size(), total));
  return timings;
}

Expected<void> lab_down(const Lab& lab, LabState& state, Progress& progress) {
  mux_stop(state.dir());  // its sessions would keep the namespace alive
  if (state.empty()) {
    progress.done("lab " + lab.name + ": nothing to remove");
    state.remove_all();
    return {};
  }
  const std::string ns = state.get("netns");
  if (!ns.empty() && netns_exists(ns)) DCSLAB_TRY(netns_enter(ns));
  auto provider = create_provider(lab, state);
  DCSLAB_TRY(provider->down(progress));
  for (const auto& r : state.resources()) {
    if (r.kind != "netns") continue;
    progress.phase("deleting network namespace " + r.name);
    DCSLAB_TRY(netns_delete(r.name));
    state.forget(r);
  }
  if (!state.empty()) {
    std::string left;
    for (const auto& r : state.resources()) left += "\n  " + r.kind + " " + r.name;
    return Failure::error("resources still recorded after down:" + left);
  }
  state.remove_all();
  progress.done("lab " + lab.name + " removed");
  return {};
}

Expected<std::vector<NodeStatus>> lab_status(const Lab& lab, LabState& state) {
  if (state.empty()) {
    std::vector<NodeStatus> s;
    for (const auto& n : lab.nodes) s.push_back({n.name, "not created", ""});
    return s;
  }
  DCSLAB_TRY(enter_lab_namespace(state));
  return create_provider(lab, state)->status();
}

Expected<std::unique_ptr<Transport>> connect_node(const Lab& lab, const LabState& state,
                                                  const std::string& node_name,
                                                  const std::string& user) {
  const Node* node = lab.find_node(node_name);
  if (!node) {
    throw BadInput("unknown node \"" + node_name + "\" (nodes of lab " + lab.name + ": " +
                   join(lab.node_names(), ", ") + ")");
  }
  DCSLAB_TRY(check_network_local(lab, state));
  DCSLAB_TRY_ASSIGN(auto t, SshTransport::connect(target_for(state, *node, user)));
  return std::unique_ptr<Transport>(std::move(t));
}

std::chrono::milliseconds ssh_connect_timeout(const LabState& state) {
  const SshTarget defaults;
  return state.get("accel") == "tcg" ? std::max(defaults.connect_timeout, kSshBootHandshakeTimeout)
                                     : defaults.connect_timeout;
}

Expected<SshTarget> node_target(const Lab& lab, const LabState& state,
                                const std::string& node, const std::string& user) {
  const Node* n = lab.find_node(node);
  if (!n) throw BadInput("unknown node \"" + node + "\" in lab " + lab.name);
  DCSLAB_TRY(check_network_local(lab, state));
  return target_for(state, *n, user);
}

std::vector<std::string> ssh_client_argv(const Lab& lab, const LabState& state,
                                         const std::string& node_name, const std::string& user) {
  const Node* node = lab.find_node(node_name);
  return {"ssh",
          "-i", state.lab_key().string(),
          "-o", "IdentitiesOnly=yes",
          "-o", "UserKnownHostsFile=" + state.known_hosts().string(),
          "-o", "StrictHostKeyChecking=yes",
          "-o", "HostKeyAlias=" + node->name,
          "-o", "LogLevel=ERROR",
          user + "@" + node->ip.str()};
}

std::string ssh_config(const Lab& lab, const LabState& state, const std::string& self_exe,
                       const std::string& lab_file) {
  std::ostringstream s;
  for (const auto& n : lab.nodes) {
    s << "Host " << n.name << " " << n.fqdn << "\n"
      << "  HostName " << n.ip.str() << "\n"
      << "  User " << lab.login.user << "\n"
      << "  IdentityFile " << state.lab_key().string() << "\n"
      << "  IdentitiesOnly yes\n"
      << "  UserKnownHostsFile " << state.known_hosts().string() << "\n"
      << "  StrictHostKeyChecking yes\n"
      << "  HostKeyAlias " << n.name << "\n";
    if (!state.get("netns").empty())
      s << "  ProxyCommand " << self_exe << " --lab " << lab_file << " --name " << lab.name
        << " proxy %h %p\n";
    s << "\n";
  }
  return s.str();
}

int proxy_stdio(const std::string& host, int port) {
  const Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int fd = sock.get();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    spdlog::error("proxy: cannot connect to {}:{}", host, port);
    return 1;
  }
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {fd, POLLIN, 0}};
  char buf[65536];
  bool stdin_open = true;
  for (;;) {
    fds[0].fd = stdin_open ? STDIN_FILENO : -1;
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        stdin_open = false;
        ::shutdown(fd, SHUT_WR);
      } else if (::write(fd, buf, n) != n) {
        return 1;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return 0;
      if (::write(STDOUT_FILENO, buf, n) != n) return 1;
    }
  }
}

}  // namespace dcslab
