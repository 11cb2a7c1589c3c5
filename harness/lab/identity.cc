#include "lab/identity.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "base/error.h"
#include "base/file.h"

namespace dcslab {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBlock = 512;
constexpr size_t kPadTo = 1024 * 1024;
constexpr const char* kDir = "dcslab-identity/";

struct Member {
  std::string name;
  std::string content;
  unsigned mode;
  char type;  // '0' file, '5' directory
};

// width-1 zero-padded octal digits and a NUL, as POSIX ustar wants.
void put_octal(char* field, size_t width, unsigned long long value) {
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0; value >>= 3) field[i] = static_cast<char>('0' + (value & 7));
  if (value != 0) throw Fatal("identity archive: a value does not fit its tar header field");
}

// One ustar header block. Written by hand rather than by running tar so the archive is
// byte-for-byte what we decide (modes, owner root, no host user names) and the private
// key never passes through a temporary file tree.
std::string header(const Member& m, long long mtime) {
  if (m.name.size() >= 100) throw Fatal("identity member name too long: " + m.name);
  char h[kBlock];
  std::memset(h, 0, sizeof h);
  std::memcpy(h, m.name.data(), m.name.size());
  put_octal(h + 100, 8, m.mode);
  put_octal(h + 108, 8, 0);  // uid root
  put_octal(h + 116, 8, 0);  // gid root
  put_octal(h + 124, 12, m.type == '5' ? 0 : m.content.size());
  put_octal(h + 136, 12, static_cast<unsigned long long>(mtime));
  h[156] = m.type;
  std::memcpy(h + 257, "ustar", 6);  // magic with its NUL
  std::memcpy(h + 263, "00", 2);     // version
  std::memcpy(h + 265, "root", 4);
  std::memcpy(h + 297, "root", 4);
  // Checksum: sum of all bytes with the checksum field counted as spaces.
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : std::string(h, sizeof h)) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);  // six digits, NUL, and the space stays
  h[155] = ' ';
  return std::string(h, sizeof h);
}

std::string with_newline(std::string s) {
  if (!s.empty() && s.back() != '\n') s += '\n';
  return s;
}

std::string fqdn_of(const Lab& lab, const Node& n) {
  return n.fqdn.empty() ? n.name + "." + lab.network.domain : n.fqdn;
}

std::string network_file(const Lab& lab, const Node& node, const std::string& nic_match) {
  std::string s = "# dcslab: the lab network's static address; no DHCP, no gateway.\n";
  s += "[Match]\n" + with_newline(nic_match) + "\n";
  s += "[Network]\n";
  s += "Address=" + node.ip.str() + "/" + std::to_string(lab.network.cidr.prefix) + "\n";
  s += "DHCP=no\n";
  // No IPv6 link-local or router solicitation: nothing on the lab network answers, and
  // waiting for it only delays the link being configured.
  s += "LinkLocalAddressing=no\n";
  s += "IPv6AcceptRA=no\n";
  return s;
}

}  // namespace

std::string hosts_file(const Lab& lab) {
  std::string s =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "ff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n"
      "\n"
      "# dcslab lab " + lab.name + "\n";
  for (const auto& n : lab.nodes) s += n.ip.str() + "\t" + fqdn_of(lab, n) + "\t" + n.name + "\n";
  return s;
}

fs::path write_identity(const Lab& lab, const Node& node, const NodeKeys& keys,
                        const std::string& nic_match, const fs::path& out_dir) {
  if (nic_match.empty()) throw Fatal("identity for " + node.name + ": empty [Match] for the NIC");
  auto host_key = read_file(keys.host_private);
  if (!host_key) throw Fatal("the host key of " + node.name + ": " + host_key.error().message);
  const std::vector<Member> members = {
      {kDir, "", 0755, '5'},
      {std::string(kDir) + "hostname", node.name + "\n", 0644, '0'},
      {std::string(kDir) + "hosts", hosts_file(lab), 0644, '0'},
      {std::string(kDir) + "network", network_file(lab, node, nic_match), 0644, '0'},
      {std::string(kDir) + "ssh_host_ed25519_key", *host_key, 0600, '0'},
      {std::string(kDir) + "ssh_host_ed25519_key.pub", with_newline(keys.host_public), 0644, '0'},
      {std::string(kDir) + "authorized_keys", with_newline(keys.lab_public), 0644, '0'},
      {std::string(kDir) + "login_user", lab.login.user + "\n", 0644, '0'},
  };
  const long long mtime = static_cast<long long>(std::time(nullptr));
  std::string tar;
  for (const auto& m : members) {
    tar += header(m, mtime);
    tar += m.content;
    tar.append((kBlock - m.content.size() % kBlock) % kBlock, '\0');
  }
  tar.append(2 * kBlock, '\0');  // end of archive
  tar.append((kPadTo - tar.size() % kPadTo) % kPadTo, '\0');

  fs::create_directories(out_dir);
  const fs::path final_path = out_dir / "identity.tar";
  // 0600: the archive carries the node's private host key.
  auto written = write_file_atomic(final_path, tar, 0600);
  if (!written) throw Fatal(written.error().message);
  return final_path;
}

}  // namespace dcslab
