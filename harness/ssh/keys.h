// SSH keys the harness makes and pins: the lab's client key (root and the lab's login user
// authorize it)
// and each node's host key (generated here, put into the node's identity, pinned by
// SshTransport). Keys are ed25519 in OpenSSH format so that both libssh and OpenSSH
// (`dcslab ssh`, the nodes' sshd) read them.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include "base/error.h"

namespace dcslab {

// Every libssh handle is owned by a unique_ptr with its free function, so
// an early return never leaks a session or leaves a channel open.
struct SshKeyDeleter { void operator()(ssh_key k) const { ssh_key_free(k); } };
struct SshSessionDeleter {
  void operator()(ssh_session s) const {
    ssh_disconnect(s);  // harmless on a session that never connected
    ssh_free(s);
  }
};
struct SshChannelDeleter { void operator()(ssh_channel c) const { ssh_channel_free(c); } };
struct SftpSessionDeleter { void operator()(sftp_session s) const { sftp_free(s); } };
struct SftpFileDeleter { void operator()(sftp_file f) const { sftp_close(f); } };
struct SshEventDeleter { void operator()(ssh_event e) const { ssh_event_free(e); } };
struct SshCharDeleter { void operator()(char* p) const { ssh_string_free_char(p); } };

using SshKey = std::unique_ptr<std::remove_pointer_t<ssh_key>, SshKeyDeleter>;
using SshSession = std::unique_ptr<std::remove_pointer_t<ssh_session>, SshSessionDeleter>;
using SshChannel = std::unique_ptr<std::remove_pointer_t<ssh_channel>, SshChannelDeleter>;
using SftpSession = std::unique_ptr<std::remove_pointer_t<sftp_session>, SftpSessionDeleter>;
using SftpFile = std::unique_ptr<std::remove_pointer_t<sftp_file>, SftpFileDeleter>;
using SshEvent = std::unique_ptr<std::remove_pointer_t<ssh_event>, SshEventDeleter>;
using SshChars = std::unique_ptr<char, SshCharDeleter>;

// Writes a new ed25519 key: `private_path` (OpenSSH format, mode 0600, written to a
// temporary name then renamed, so a crash never leaves half a key) and
// `<private_path>.pub` (mode 0644). Returns the public line "ssh-ed25519 AAAA... comment".
// If the private key already exists the key is kept (a lab's keys must survive re-runs,
// or every pinned host key and authorized_keys would go stale) and its public line is
// returned; a missing .pub is rewritten from the private key.
Expected<std::string> generate_ed25519(const std::filesystem::path& private_path,
                                       const std::string& comment);

// The first key line of an OpenSSH .pub file, trimmed.
Expected<std::string> read_public_key(const std::filesystem::path& pub_path);

// "ssh-ed25519 AAAA... comment" -> {"ssh-ed25519", "AAAA..."}; a line without a key type
// and a base64 blob is a Failure::error.
struct PublicKeyParts {
  std::string type;
  std::string base64;
};
Expected<PublicKeyParts> split_public_key(const std::string& public_line);

// "SHA256:..." as `ssh-keygen -l` prints it, for messages. Never throws: an unparsable
// line gives "(unparsable key)" so a message about a bad key can still be written.
std::string fingerprint_sha256(const std::string& public_line);

// The same for a key libssh already holds (the host key a server offered).
std::string fingerprint_sha256(ssh_key key);

// "type base64" of a libssh public key, no comment.
Expected<std::string> public_line_of(ssh_key key);

}  // namespace dcslab
