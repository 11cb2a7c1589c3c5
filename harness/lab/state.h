// Where dcslab keeps things on the host, and the ledger of what a lab created.
//
//   $DCSLAB_HOME (default $XDG_DATA_HOME/dcslab, else ~/.local/share/dcslab)
//     images/<suite>-<hash>/      built images (see image.h)
//     labs/<lab>/                 one lab's state:
//       resources.json            the ledger: every resource, recorded BEFORE it is created
//       keys/lab_ed25519[.pub]    the lab's SSH key (root and the login user authorize it)
//       known_hosts               the pinned host keys, for `dcslab ssh`
//       nodes/<node>/             host keys, identity.tar, overlay disk, console.log
//
// The ledger is why `down` works after a crash or Ctrl-C: a resource is written down
// before the call that creates it, so a resource may be in the ledger and not exist
// (down skips it quietly), but never exist without being in the ledger.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dcslab {

std::filesystem::path dcslab_home();

struct Resource {
  std::string kind;  // provider-defined: "libvirt-domain", "libvirt-network", "netns", ...
  std::string name;  // the resource's own name (unique within its kind)
  std::string data;  // free-form detail the remover needs (a path, a pid, a URI)
  bool operator==(const Resource&) const = default;
};

class LabState {
 public:
  // Opens the state of lab `lab_name` under `home`; creates nothing until written.
  LabState(std::filesystem::path home, std::string lab_name);

  // Creates the lab's folders (done by every write; call it before writing keys).
  void prepare() const;

  const std::string& lab_name() const { return lab_name_; }
  const std::filesystem::path& home() const { return home_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path node_dir(const std::string& node) const;
  std::filesystem::path keys_dir() const { return dir_ / "keys"; }
  std::filesystem::path lab_key() const { return keys_dir() / "lab_ed25519"; }
  std::filesystem::path known_hosts() const { return dir_ / "known_hosts"; }

  // Ledger. record() is durable (written and fsynced) when it returns.
  void record(const Resource& r);
  void forget(const Resource& r);
  std::vector<Resource> resources() const;  // in the order recorded
  bool has(const std::string& kind, const std::string& name) const;
  bool empty() const;

  // A small key/value file for facts a later command needs (the URI a private daemon
  // listens on, the netns the lab lives in, the accelerator chosen).
  void set(const std::string& key, const std::string& value);
  std::string get(const std::string& key, const std::string& fallback = "") const;
  // Every fact whose key starts with `prefix`, in the order first set.
  std::vector<std::pair<std::string, std::string>> facts(const std::string& prefix) const;

  // Removes the lab's whole state folder (after down removed every resource).
  void remove_all();

 private:
  void load();
  void save() const;
  std::filesystem::path home_;
  std::string lab_name_;
  std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::vector<Resource> resources_;
  std::vector<std::pair<std::string, std::string>> facts_;
};

}  // namespace dcslab
