#include "ssh/ssh_transport.h"

#include <fcntl.h>
#include <libssh/callbacks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>

#include "base/process.h"
#include "base/text.h"

namespace dcslab {
namespace {

using Ms = std::chrono::milliseconds;

bool valid_env_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return c == '_' || std::isalnum(static_cast<unsigned char>(c));
  });
}

std::string first_line(const std::string& command) {
  const auto nl = command.find('\n');
  std::string line = command.substr(0, nl);
  if (nl != std::string::npos) line += " ...";
  return line;
}


std::string seconds_text(Ms d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

std::string where(const SshTarget& t) {
  return t.node + " (" + t.user + "@" + t.host + ":" + std::to_string(t.port) + ")";
}

// Session options are applied per operation: a connect waits connect_timeout, an exec
// waits at most its own limit for channel setup.
void set_session_timeout(ssh_session s, Ms limit) {
  long sec = static_cast<long>(limit.count() / 1000);
  long usec = static_cast<long>((limit.count() % 1000) * 1000);
  if (sec == 0 && usec == 0) usec = 1000;  // 0 would mean libssh's default
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &sec);
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

// libssh reports connect failures as text only; the kinds the callers act on (retry a
// refused port, report a timeout) are told apart here.
Failure classify_connect_error(const SshTarget& t, const std::string& err) {
  const std::string msg = "cannot connect to " + where(t) + ": " + err;
  auto has = [&](const char* s) { return err.find(s) != std::string::npos; };
  if (has("imeout") || has("timed out")) return Failure::timeout(msg);
  if (has("refused")) return Failure::refused(msg);
  return Failure::error(msg);
}

// What the channel callbacks collect. Callbacks run inside libssh's packet handling,
// so they only append; prompts are answered from the exec loop.
struct ChannelState {
  std::size_t limit = kDefaultOutputLimit;  // per stream; past it, only counted
  std::string out;
  std::string err;
  std::uint64_t out_dropped = 0;
  std::uint64_t err_dropped = 0;
  std::string since_answer;  // PTY output since the last typed answer
  int exit_status = -1;
  bool got_exit = false;
  bool eof = false;
  bool closed = false;
};

int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* user) {
  auto* st = static_cast<ChannelState*>(user);
  const char* p = static_cast<const char*>(data);
  if (is_stderr) append_capped(st->err, st->err_dropped, {p, len}, st->limit);
  else append_capped(st->out, st->out_dropped, {p, len}, st->limit);
  st->since_answer.append(p, len);
  // Only the tail can end with a prompt; keep the buffer bounded on chatty commands.
  constexpr size_t kKeep = 4096;
  if (st->since_answer.size() > 2 * kKeep) st->since_answer.erase(0, st->since_answer.size() - kKeep);
  return static_cast<int>(len);
}
void on_eof(ssh_session, ssh_channel, void* user) { static_cast<ChannelState*>(user)->eof = true; }
void on_close(ssh_session, ssh_channel, void* user) {
  static_cast<ChannelState*>(user)->closed = true;
}
void on_exit_status(ssh_session, ssh_channel, int status, void* user) {
  auto* st = static_cast<ChannelState*>(user);
  st->exit_status = status;
  st->got_exit = true;
}
void on_exit_signal(ssh_session, ssh_channel, const char*, int, const char*, const char*,
                    void* user) {
  auto* st = static_cast<ChannelState*>(user);
  st->exit_status = -1;
  st->got_exit = true;
}

// Ties a session into an event for the duration of one exec and always takes it out
// again, so blocking libssh calls after the exec find the session's own poll context.
class EventScope {
 public:
  explicit EventScope(ssh_session s) : session_(s), event_(ssh_event_new()) {
    if (event_ && ssh_event_add_session(event_.get(), s) == SSH_OK) added_ = true;
  }
  ~EventScope() {
    if (added_) ssh_event_remove_session(event_.get(), session_);
  }
  bool ok() const { return added_; }
  ssh_event get() const { return event_.get(); }

 private:
  ssh_session session_;
  SshEvent event_;
  bool added_ = false;
};

// The remote shell's first act is to print its PID, framed by ASCII record separators,
// on stderr. sshd starts the shell in a new session (setsid), so that PID is also the
// process group of everything the command starts: a timed-out command is killed as a
// group from a second channel. (sshd refuses the SSH "signal" request for root
// sessions, and closing a channel does not stop a command that writes nothing.)
constexpr const char* kPidMarker = "\x1e" "dcslab-pid:";
const std::string kPidPrefix = "printf '\\036dcslab-pid:%d\\036' $$ >&2; ";

// Removes the PID marker from `text` (the first one only: later ones would be the
// command's own output) and returns the PID, or 0 if it has not arrived.
long take_pid_marker(std::string* text) {
  const auto at = text->find(kPidMarker);
  if (at == std::string::npos) return 0;
  const auto digits = at + std::strlen(kPidMarker);
  const auto end = text->find('\x1e', digits);
  if (end == std::string::npos) return 0;
  const long pid = std::strtol(text->substr(digits, end - digits).c_str(), nullptr, 10);
  text->erase(at, end + 1 - at);
  return pid;
}

std::string random_suffix() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> dist;
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(dist(rd)));
  return buf;
}

std::string octal(int mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

}  // namespace

SshTransport::SshTransport(SshTarget target, SshSession session)
    : target_(std::move(target)), session_(std::move(session)) {}

SshTransport::~SshTransport() {
  std::lock_guard lock(mu_);
  sftp_.reset();  // the SFTP channel lives on the session: free it first
  session_.reset();
}

Expected<std::unique_ptr<SshTransport>> SshTransport::connect(const SshTarget& target) {
  bool permanent = false;
  return connect_once(target, &permanent);
}

Expected<std::unique_ptr<SshTransport>> SshTransport::connect_once(const SshTarget& target,
                                                                   bool* permanent) {
  *permanent = false;
  auto pinned = split_public_key(target.pinned_host_key);
  if (!pinned) {
    *permanent = true;
    // Trust on first use is never an option for lab nodes: without a pinned key there
    // is no way to tell our node from an impostor on the lab network.
    return Failure::refused("no usable pinned host key for " + where(target) + ": " +
                            pinned.error().message);
  }

  SshSession session(ssh_new());
  if (!session) return Failure::error("libssh could not allocate a session");
  ssh_session s = session.get();
  unsigned int port = static_cast<unsigned int>(target.port);
  bool no = false;
  ssh_options_set(s, SSH_OPTIONS_HOST, target.host.c_str());
  ssh_options_set(s, SSH_OPTIONS_PORT, &port);
  ssh_options_set(s, SSH_OPTIONS_USER, target.user.c_str());
  // The harness's own settings only: ~/.ssh/config or a user's known_hosts must not
  // change which node or key we talk to.
  ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
  // Commands are many small request/response exchanges: without TCP_NODELAY, Nagle's
  // algorithm and delayed ACKs add tens of milliseconds to each of them.
  int nodelay = 1;
  ssh_options_set(s, SSH_OPTIONS_NODELAY, &nodelay);
  ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  // Ask for the pinned key's type, so a server with several host keys offers that one.
  std::string hostkeys = pinned->type;
  if (pinned->type == "ssh-rsa") hostkeys = "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
  if (ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, hostkeys.c_str()) != SSH_OK) {
    *permanent = true;
    return Failure::refused("pinned host key of " + where(target) + " has unsupported type " +
                            pinned->type);
  }
  set_session_timeout(s, target.connect_timeout);

  if (ssh_connect(s) != SSH_OK) return classify_connect_error(target, ssh_get_error(s));

  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(s, &raw) != SSH_OK) {
    return Failure::error("no host key from " + where(target) + ": " + ssh_get_error(s));
  }
  SshKey offered(raw);
  DCSLAB_TRY_ASSIGN(auto offered_line, public_line_of(offered.get()));
  auto offered_parts = split_public_key(offered_line);
  if (!offered_parts || offered_parts->type != pinned->type ||
      offered_parts->base64 != pinned->base64) {
    *permanent = true;
    std::string msg = "HOST KEY MISMATCH for " + target.node + " at " + target.host + ":" +
                      std::to_string(target.port) + ": expected " +
                      fingerprint_sha256(target.pinned_host_key) + " (" + pinned->type +
                      ", pinned";
    if (!target.known_hosts_for_messages.empty()) {
      msg += " in " + target.known_hosts_for_messages.string();
    }
    msg += "), but the server offered " + fingerprint_sha256(offered.get()) + " (" +
           (offered_parts ? offered_parts->type : std::string("?")) +
           "). Refusing to connect: this is not the machine dcslab created (another host "
           "holds the address, or the node booted without its identity). If the node was "
           "rebuilt on purpose, its pinned key is stale: recreate the lab.";
    return Failure::refused(msg);
  }

  raw = nullptr;
  if (ssh_pki_import_privkey_file(target.identity_file.c_str(), nullptr, nullptr, nullptr,
                                  &raw) != SSH_OK) {
    *permanent = true;
    return Failure::error("cannot read the SSH identity " + target.identity_file.string());
  }
  SshKey identity(raw);
  const int auth = ssh_userauth_publickey(s, nullptr, identity.get());
  if (auth != SSH_AUTH_SUCCESS) {
    std::string why = auth == SSH_AUTH_ERROR ? ssh_get_error(s) : "key not accepted";
    return Failure::refused("public-key authentication as " + target.user + " on " +
                            where(target) + " failed (" + why + ") with " +
                            target.identity_file.string() + " (" +
                            fingerprint_sha256(identity.get()) +
                            "); is that key in the node's authorized_keys?");
  }
  spdlog::debug("{}: SSH session open to {}:{} as {}", target.node, target.host, target.port,
                target.user);
  return std::unique_ptr<SshTransport>(new SshTransport(target, std::move(session)));
}

Expected<void> SshTransport::ensure_connected_locked() {
  if (session_ && ssh_is_connected(session_.get())) return {};
  // The node went away (rebooted, sshd restarted): one fresh session, same pinning.
  sftp_.reset();
  session_.reset();
  bool permanent = false;
  DCSLAB_TRY_ASSIGN(auto fresh, connect_once(target_, &permanent));
  std::lock_guard other(fresh->mu_);
  session_ = std::move(fresh->session_);
  return {};
}

Expected<CommandResult> SshTransport::exec(const std::string& command,
                                           const ExecOptions& options) {
  std::lock_guard lock(mu_);
  return exec_locked(command, options);
}

Expected<CommandResult> SshTransport::exec_locked(const std::string& command,
                                                  const ExecOptions& options) {
  long pid = 0;
  auto result = run_channel_locked(command, options, &pid);
  if (!result && result.error().kind == Failure::Kind::Timeout && pid > 1) {
    // Stop the command too, or a silent loop would run on the node forever. This runs
    // after the timed-out channel is closed and unhooked, on a channel of its own.
    ExecOptions kill_options;
    kill_options.timeout = Ms(10000);
    const std::string p = std::to_string(pid);
    long ignored = 0;
    auto killed = run_channel_locked(
        "kill -KILL -- -" + p + " 2>/dev/null || kill -KILL " + p + " 2>/dev/null; true",
        kill_options, &ignored);
    if (!killed) {
      spdlog::warn("{}: could not stop timed-out `{}` (pid {}): {}", target_.node,
                   first_line(command), pid, killed.error().message);
    }
  }
  return result;
}

Expected<CommandResult> SshTransport::run_channel_locked(const std::string& command,
                                                         const ExecOptions& options,
                                                         long* timed_out_pid) {
  *timed_out_pid = 0;
  const bool pty = options.pty || !options.prompts.empty();
  std::string script = kPidPrefix;
  for (const auto& [name, value] : options.env) {
    if (!valid_env_name(name)) {
      throw BadInput("environment variable name \"" + name + "\" for `" + first_line(command) +
                     "` is not a shell identifier");
    }
    script += "export " + name + "=" + shell_quote(value) + "; ";
  }
  // Typed answers are secrets: with echo off they never come back in the output.
  if (pty && (!options.prompts.empty() || !options.stdin_data.empty())) {
    script += "stty -echo 2>/dev/null; ";
  }
  script += command;

  DCSLAB_TRY(ensure_connected_locked());
  ssh_session s = session_.get();
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + options.timeout;
  auto timed_out = [&] {
    return Failure::timeout("`" + first_line(command) + "` on " + target_.node +
                            " did not finish within " + seconds_text(options.timeout));
  };
  auto lost = [&](const char* during) {
    std::string e = ssh_get_error(s);
    // A broken session is replaced on the next call (ensure_connected_locked).
    if (!ssh_is_connected(s)) sftp_.reset();
    return Failure::error(std::string("SSH to ") + where(target_) + " failed " + during +
                          " `" + first_line(command) + "`: " + e);
  };
  set_session_timeout(s, options.timeout);

  ChannelState state;
  state.limit = options.output_limit;
  ssh_channel_callbacks_struct cb{};
  cb.userdata = &state;
  cb.channel_data_function = on_data;
  cb.channel_eof_function = on_eof;
  cb.channel_close_function = on_close;
  cb.channel_exit_status_function = on_exit_status;
  cb.channel_exit_signal_function = on_exit_signal;
  ssh_callbacks_init(&cb);

  SshChannel channel(ssh_channel_new(s));
  if (!channel) return lost("creating a channel for");
  ssh_channel ch = channel.get();
  // The callbacks point at this frame; a channel freed before the server's close
  // arrives lives on inside libssh, so they must be unhooked whatever happens.
  struct Unhook {
    ssh_channel ch;
    ssh_channel_callbacks cb;
    ~Unhook() { ssh_remove_channel_callbacks(ch, cb); }
  } unhook{ch, &cb};
  ssh_set_channel_callbacks(ch, &cb);

  if (ssh_channel_open_session(ch) != SSH_OK) {
    if (std::chrono::steady_clock::now() >= deadline) return timed_out();
    return lost("opening a channel for");
  }
  // A wide "dumb" terminal: no colour codes, no line wrapping inside prompts.
  if (pty && ssh_channel_request_pty_size(ch, "dumb", 500, 50) != SSH_OK) {
    return lost("requesting a PTY for");
  }
  if (ssh_channel_request_exec(ch, script.c_str()) != SSH_OK) return lost("starting");

  if (!options.stdin_data.empty()) {
    const auto& in = options.stdin_data;
    if (ssh_channel_write(ch, in.data(), static_cast<uint32_t>(in.size())) !=
        static_cast<int>(in.size())) {
      if (std::chrono::steady_clock::now() >= deadline) return timed_out();
      return lost("writing stdin of");
    }
  }
  if (!pty) ssh_channel_send_eof(ch);

  EventScope event(s);
  if (!event.ok()) return Failure::error("libssh could not create a poll event");
  while (!state.closed) {
    if (!options.prompts.empty()) {
      const std::string tail = rtrim(state.since_answer, " \r");
      for (const auto& prompt : options.prompts) {
        const std::string expect = rtrim(prompt.expect, " \r");
        if (expect.empty() || tail.size() < expect.size() ||
            tail.compare(tail.size() - expect.size(), expect.size(), expect) != 0) {
          continue;
        }
        const std::string typed = prompt.answer + "\n";
        state.since_answer.clear();
        spdlog::debug("{}: answering prompt \"{}\"", target_.node, expect);
        if (ssh_channel_write(ch, typed.data(), static_cast<uint32_t>(typed.size())) !=
            static_cast<int>(typed.size())) {
          return lost("answering a prompt of");
        }
        break;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    const bool cancelled = options.cancelled && options.cancelled();
    if (now >= deadline || cancelled) {
      ssh_channel_close(ch);
      *timed_out_pid = take_pid_marker(pty ? &state.out : &state.err);
      if (cancelled) {
        spdlog::debug("{}: `{}` interrupted", target_.node, first_line(command));
        return Failure::timeout("`" + first_line(command) + "` on " + target_.node +
                                " interrupted");
      }
      spdlog::debug("{}: `{}` timed out after {}", target_.node, first_line(command),
                    seconds_text(options.timeout));
      return timed_out();
    }
    const auto left = std::chrono::duration_cast<Ms>(deadline - now).count() + 1;
    const long long slice = options.cancelled ? 100 : 1000;
    const int rc =
        ssh_event_dopoll(event.get(), static_cast<int>(std::min<long long>(left, slice)));
    if (rc == SSH_ERROR && !ssh_is_connected(s)) return lost("while running");
    // With a PTY the server may close after EOF without waiting for us; without one,
    // OpenSSH sends exit-status, EOF and close in that order.
    if (ssh_channel_is_closed(ch)) state.closed = true;
  }

  CommandResult result;
  result.exit_status = state.got_exit ? state.exit_status : -1;
  result.out = std::move(state.out);
  result.err = std::move(state.err);
  result.out_dropped = state.out_dropped;
  result.err_dropped = state.err_dropped;
  take_pid_marker(pty ? &result.out : &result.err);
  if (pty) std::erase(result.out, '\r');
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                             start).count();
  std::vector<std::string> env_names;
  for (const auto& kv : options.env) env_names.push_back(kv.first);
  spdlog::debug("{}: `{}`{} -> exit {} in {:.1f} ms", target_.node, command,
                env_names.empty() ? "" : " (env " + join(env_names, ",") + ")", result.exit_status, ms);
  return result;
}

Expected<sftp_session> SshTransport::sftp_locked() {
  DCSLAB_TRY(ensure_connected_locked());
  if (sftp_) return sftp_.get();
  set_session_timeout(session_.get(), Ms(60000));
  SftpSession sftp(sftp_new(session_.get()));
  if (!sftp) {
    return Failure::error("cannot open an SFTP channel to " + where(target_) + ": " +
                          ssh_get_error(session_.get()));
  }
  if (sftp_init(sftp.get()) != SSH_OK) {
    return Failure::error("SFTP subsystem unavailable on " + where(target_) +
                          " (is `Subsystem sftp` configured in sshd_config?): " +
                          ssh_get_error(session_.get()));
  }
  sftp_ = std::move(sftp);
  return sftp_.get();
}

Expected<void> SshTransport::sftp_write_locked(const std::string& content,
                                               const std::string& path, int mode,
                                               bool* permission_denied) {
  *permission_denied = false;
  DCSLAB_TRY_ASSIGN(auto sftp, sftp_locked());
  auto fail = [&](const std::string& what) -> Failure {
    const int code = sftp_get_error(sftp);
    const std::string msg = "cannot " + what + " " + path + " on " + where(target_) + ": " +
                            ssh_get_error(session_.get());
    if (code == SSH_FX_PERMISSION_DENIED) {
      *permission_denied = true;
      return Failure::refused(msg);
    }
    if (code == SSH_FX_NO_SUCH_FILE) return Failure::not_found(msg);
    return Failure::error(msg);
  };
  SftpFile file(sftp_open(sftp, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                          static_cast<mode_t>(mode & 07777)));
  if (!file) return fail("create");
  // Set the mode before any content lands: an existing file keeps its old (possibly
  // wider) mode through O_TRUNC, and the content may be a private key.
  if (sftp_chmod(sftp, path.c_str(), static_cast<mode_t>(mode & 07777)) != SSH_OK) {
    return fail("chmod");
  }
  constexpr size_t kChunk = 32 * 1024;
  for (size_t off = 0; off < content.size();) {
    const size_t n = std::min(kChunk, content.size() - off);
    const ssize_t w = sftp_write(file.get(), content.data() + off, n);
    if (w < 0) return fail("write");
    off += static_cast<size_t>(w);
  }
  if (sftp_close(file.release()) != SSH_OK) return fail("close");
  return {};
}

Expected<void> SshTransport::put(const std::string& content, const std::string& remote_path,
                                 const FileAttributes& attrs) {
  std::lock_guard lock(mu_);
  const auto start = std::chrono::steady_clock::now();
  ExecOptions quick;
  quick.timeout = Ms(60000);
  bool denied = false;
  auto written = sftp_write_locked(content, remote_path, attrs.mode, &denied);
  if (written) {
    if (!attrs.owner.empty() || !attrs.group.empty()) {
      std::string spec = attrs.owner;
      if (!attrs.group.empty()) spec += ":" + attrs.group;
      DCSLAB_TRY_ASSIGN(
          auto r,
          exec_locked(sudo() + "chown " + shell_quote(spec) + " " + shell_quote(remote_path), quick));
      if (r.exit_status != 0) {
        return Failure::error("wrote " + remote_path + " on " + target_.node +
                              " but could not chown it to " + spec + ": " + rtrim(r.err, " \r\n"));
      }
    }
  } else {
    if (!denied) return written.error();
    // The user may not write there (e.g. /etc/dcs/cert owned by etcd): stage the
    // content in a private temp file (mode 0600, it may be a key) and let sudo place it.
    const std::string tmp = "/tmp/.dcslab-put-" + random_suffix();
    bool tmp_denied = false;
    DCSLAB_TRY(sftp_write_locked(content, tmp, 0600, &tmp_denied));
    std::string cmd = sudo() + "install -m " + octal(attrs.mode);
    if (!attrs.owner.empty()) cmd += " -o " + shell_quote(attrs.owner);
    if (!attrs.group.empty()) cmd += " -g " + shell_quote(attrs.group);
    cmd += " " + shell_quote(tmp) + " " + shell_quote(remote_path) + "; rc=$?; rm -f " +
           shell_quote(tmp) + "; exit $rc";
    DCSLAB_TRY_ASSIGN(auto r, exec_locked(cmd, quick));
    if (r.exit_status != 0) {
      return Failure::refused(target_.user + " may not write " + remote_path + " on " +
                              target_.node + " and `sudo -n install` failed: " +
                              rtrim(r.err, " \r\n") +
                              " (give the user passwordless sudo, or connect as root)");
    }
  }
  spdlog::debug("{}: put {} ({} bytes, mode {}) in {:.1f} ms", target_.node, remote_path,
                content.size(), octal(attrs.mode),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                          start).count());
  return {};
}

Expected<std::string> SshTransport::get(const std::string& remote_path) {
  std::lock_guard lock(mu_);
  DCSLAB_TRY_ASSIGN(auto sftp, sftp_locked());
  SftpFile file(sftp_open(sftp, remote_path.c_str(), O_RDONLY, 0));
  if (!file) {
    const int code = sftp_get_error(sftp);
    const std::string msg = "cannot read " + remote_path + " on " + where(target_) + ": " +
                            ssh_get_error(session_.get());
    if (code == SSH_FX_NO_SUCH_FILE) return Failure::not_found(msg);
    if (code != SSH_FX_PERMISSION_DENIED) return Failure::error(msg);
    ExecOptions quick;
    quick.timeout = Ms(60000);
    DCSLAB_TRY_ASSIGN(auto r, exec_locked(sudo() + "cat -- " + shell_quote(remote_path), quick));
    if (r.exit_status != 0) {
      return Failure::refused(msg + "; `sudo -n cat` failed too: " + rtrim(r.err, " \r\n"));
    }
    return std::move(r.out);
  }
  std::string content;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = sftp_read(file.get(), buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      return Failure::error("cannot read " + remote_path + " on " + where(target_) + ": " +
                            ssh_get_error(session_.get()));
    }
    content.append(buf, static_cast<size_t>(n));
  }
  return content;
}

Expected<std::unique_ptr<SshTransport>> wait_for_ssh(
    const SshTarget& target, Clock& clock, Clock::duration limit, Progress& progress,
    const std::function<std::optional<std::string>()>& give_up) {
  using Result = Expected<std::unique_ptr<SshTransport>>;
  const std::string what =
      "SSH on " + target.node + " (" + target.host + ":" + std::to_string(target.port) + ")";
  const auto start = clock.now();
  const auto limit_s = std::chrono::duration_cast<std::chrono::seconds>(limit);
  SshTarget attempt = target;
  auto waited = poll_until<Result>(
      clock, limit, kSshPollInterval, what,
      [&](std::string* reason) -> std::optional<Result> {
        if (give_up) {
          if (auto why = give_up()) return std::optional<Result>(Failure::error(*why));
        }
        // Time for a slow handshake, but never much past the wait's own limit.
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            limit - (clock.now() - start));
        attempt.connect_timeout = std::max(
            target.connect_timeout, std::min<std::chrono::milliseconds>(kSshBootHandshakeTimeout, left));
        const auto tried = std::chrono::steady_clock::now();
        bool permanent = false;
        auto t = SshTransport::connect_once(attempt, &permanent);
        if (t || permanent) return std::optional<Result>(std::move(t));
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - tried).count();
        if (t.error().message != *reason || took >= 1.0)
          spdlog::debug("{}: SSH attempt failed after {:.1f} s: {}", target.node, took,
                        t.error().message);
        *reason = t.error().message;
        progress.waiting(what,
                         std::chrono::duration_cast<std::chrono::seconds>(clock.now() - start),
                         limit_s);
        return std::nullopt;
      });
  if (!waited) return waited.error();
  return std::move(*waited);
}

}  // namespace dcslab
