// Tests only: `openssl s_server` as a TLS server on loopback, to point the TLS probe and
// expect_tls at. The openssl CLI is the lab document's reference; it is allowed in tests.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace dcslab {

// `openssl s_server` on 127.0.0.1, an ephemeral port, killed (by its pid) at the end.
class SServer {
 public:
  SServer(const SServer&) = delete;
  SServer& operator=(const SServer&) = delete;
  explicit SServer(std::vector<std::string> args) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::close(out[0]);
      const int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      std::vector<std::string> argv = {"openssl", "s_server", "-accept", "127.0.0.1:0", "-www"};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> c;
      for (auto& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      ::execvp("openssl", c.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = ::fdopen(out[0], "r");
    // "ACCEPT 127.0.0.1:PORT" once it listens.
    char line[512];
    while (out_ && std::fgets(line, sizeof line, out_)) {
      std::string l = line;
      log_ += l;
      if (l.rfind("ACCEPT ", 0) == 0) {
        port_ = std::stoi(l.substr(l.rfind(':') + 1));
        break;
      }
    }
  }
  ~SServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_) std::fclose(out_);
  }
  int port() const { return port_; }
  const std::string& log() const { return log_; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = 0;
  std::string log_;
};

}  // namespace dcslab
