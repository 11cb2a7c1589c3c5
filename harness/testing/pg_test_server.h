// Tests only: a real PostgreSQL 15 on 127.0.0.1, in a temporary folder, with initdb and
// pg_ctl from /usr/lib/postgresql/15/bin, on a free port. PostgreSQL refuses to run as
// root: as root every command runs as the `postgres` user (runuser). Servers are stopped
// (immediate) and their folders removed when the object goes.
//
// Connections over TCP use a random password (scram-sha-256) that only these servers
// know, so the password path of the client is what the tests exercise; replication
// (pg_basebackup, standbys) reads it from a passfile in the folder.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/digest.h"
#include "base/fd.h"
#include "base/process.h"
#include "pg/pg_conn.h"

namespace dcslab {

class PgTestServer {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  // Why no server can run here ("" when one can): the test's GTEST_SKIP reason.
  static std::string missing() {
    for (const char* tool : {"initdb", "pg_ctl", "postgres", "pg_basebackup"})
      if (::access((std::string(kBin) + "/" + tool).c_str(), X_OK) != 0)
        return std::string(kBin) + "/" + tool + " is missing: PostgreSQL 15 is not installed "
               "(scripts/install-deps installs postgresql-15)";
    if (::geteuid() == 0 && !::getpwnam("postgres"))
      return "running as root and there is no postgres user to run PostgreSQL as";
    if (::geteuid() == 0 && ::access("/usr/sbin/runuser", X_OK) != 0 && ::access("/sbin/runuser", X_OK) != 0)
      return "running as root and runuser (util-linux) is missing";
    return "";
  }

  // initdb and start. `node` becomes the server's dcslab.node setting.
  static std::unique_ptr<PgTestServer> primary(const std::string& node, std::string* error) {
    auto s = std::unique_ptr<PgTestServer>(new PgTestServer(node, random_alnum(20)));
    if (!s->make_folder(error)) return nullptr;
    if (!s->write_file(s->dir_ / "pw", s->password_ + "\n", error)) return nullptr;
    if (!s->run({std::string(kBin) + "/initdb", "-D", s->data().string(), "-U", "postgres",
                 "--pwfile=" + (s->dir_ / "pw").string(), "--auth-local=trust", "--auth-host=scram-sha-256",
                 "--no-sync", "--no-instructions"},
                error))
      return nullptr;
    if (!s->start(error)) return nullptr;
    return s;
  }

  // A streaming standby of this server (pg_basebackup -R), started.
  std::unique_ptr<PgTestServer> standby(const std::string& node, std::string* error) {
    auto s = std::unique_ptr<PgTestServer>(new PgTestServer(node, password_));
    if (!s->make_folder(error)) return nullptr;
    if (!s->run({std::string(kBin) + "/pg_basebackup", "-d",
                 "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres passfile=" + passfile_.string(),
                 "-D", s->data().string(), "-R", "-X", "stream", "--no-sync"},
                error))
      return nullptr;
    if (!s->start(error)) return nullptr;
    return s;
  }

  ~PgTestServer() {
    if (running_) stop("immediate");
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  PgTestServer(const PgTestServer&) = delete;
  PgTestServer& operator=(const PgTestServer&) = delete;

  bool start(std::string* error = nullptr, const std::vector<std::string>& extra = {}) {
    std::string opts = "-p " + std::to_string(port_) + " -k " + dir_.string() +
                       " -c listen_addresses=127.0.0.1 -c dcslab.node=" + node_ + " -c fsync=off";
    for (const auto& e : extra) opts += " " + e;
    std::string err;
    running_ = run({std::string(kBin) + "/pg_ctl", "-D", data().string(), "-o", opts, "-l",
                    (dir_ / "log").string(), "-w", "-t", "60", "start"},
                   &err);
    if (!running_ && error) *error = err + "\n" + log();
    return running_;
  }
  // mode: fast (clean: standbys get every WAL record first) or immediate (a crash).
  bool stop(const std::string& mode = "fast") {
    std::string err;
    const bool ok = run({std::string(kBin) + "/pg_ctl", "-D", data().string(), "-m", mode, "-w", "stop"}, &err);
    if (ok) running_ = false;
    return ok;
  }
  bool promote(std::string* error = nullptr) {
    return run({std::string(kBin) + "/pg_ctl", "-D", data().string(), "-w", "promote"}, error);
  }

  // One statement as postgres, over TCP (any session: primary or standby).
  PgReply sql(const std::string& statement) {
    PgReply r;
    auto s = PgSession::connect(options("any"));
    if (!s) {
      r.error = PgError{PgError::Kind::NotSent, s.error().message, "", ""};
      return r;
    }
    return s->exec(statement, {}, std::chrono::seconds(30));
  }
  // The first column of the first row, or "" (and the error in *error).
  std::string value(const std::string& statement, std::string* error = nullptr) {
    const PgReply r = sql(statement);
    if (!r) {
      if (error) *error = r.error->message;
      return "";
    }
    return r.rows.empty() || r.rows[0].empty() || !r.rows[0][0] ? "" : *r.rows[0][0];
  }

  // Client options for this server alone.
  PgConnectOptions options(const std::string& target = "read-write") const {
    PgConnectOptions o;
    o.hosts = {host()};
    o.password = password_;
    o.target_session_attrs = target;
    o.connect_timeout = std::chrono::seconds(2);
    return o;
  }
  PgHost host() const { return {"127.0.0.1", port_}; }
  int port() const { return port_; }
  const std::string& node() const { return node_; }
  const std::string& password() const { return password_; }
  std::string log() const {
    std::ifstream in(dir_ / "log");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
  }

  // A port nothing listens on (bound, then released).
  static int free_port() {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }

 private:
  PgTestServer(std::string node, std::string password)
      : node_(std::move(node)), password_(std::move(password)), port_(free_port()) {}

  std::filesystem::path data() const { return dir_ / "data"; }

  bool make_folder(std::string* error) {
    char tmpl[] = "/tmp/dcslab-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      *error = "mkdtemp failed";
      return false;
    }
    dir_ = tmpl;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        *error = "cannot hand " + dir_.string() + " to the postgres user";
        return false;
      }
    }
    passfile_ = dir_ / "pgpass";
    return write_file(passfile_, "127.0.0.1:*:*:postgres:" + password_ + "\n", error);
  }

  bool write_file(const std::filesystem::path& p, const std::string& text, std::string* error) {
    {
      std::ofstream out(p, std::ios::trunc);
      out << text;
      if (!out) {
        *error = "cannot write " + p.string();
        return false;
      }
    }
    ::chmod(p.c_str(), 0600);
    if (::geteuid() == 0)
      if (const passwd* pw = ::getpwnam("postgres")) {
        if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
          *error = "cannot chown " + p.string();
          return false;
        }
      }
    return true;
  }

  // Runs a PostgreSQL tool, as postgres when we are root.
  bool run(std::vector<std::string> argv, std::string* error) {
    if (::geteuid() == 0) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    auto r = run_checked(argv);
    if (!r && error) *error = r.error().message;
    return static_cast<bool>(r);
  }

  std::string node_;
  std::string password_;
  int port_;
  std::filesystem::path dir_, passfile_;
  bool running_ = false;
};

}  // namespace dcslab
