#include "run/copy_steps.h"

#include "base/digest.h"


#include <cstdio>
#include <sstream>

#include "base/process.h"
#include "base/text.h"

namespace dcslab {

namespace {

std::string octal(int mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

std::string first_line(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_first_of("\r\n", b);
  return s.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

struct Place {
  std::string node, path;
  std::string text() const { return node + ":" + path; }
};

// A location with its templates expanded; its node must be the lab's.
Expected<Place> expand(const CopySpec::Location& loc, const char* key, const TemplateValues& tv) {
  Place p;
  try {
    p.node = expand_templates(loc.node, tv);
    p.path = expand_templates(loc.path, tv);
  } catch (const BadInput& e) {
    return Failure::error(std::string("copy.") + key + ": " + e.what());
  }
  if (!tv.lab || !tv.lab->find_node(p.node)) {
    std::string valid;
    if (tv.lab) valid = join(tv.lab->node_names(), ", ");
    return Failure::error(std::string("copy.") + key + ": \"" + p.node + "\" (from " + loc.node +
                          ") is not a node of the lab (valid: " + valid + ")");
  }
  if (p.path.empty() || p.path[0] != '/')
    return Failure::error(std::string("copy.") + key + ": \"" + p.path + "\" (from " + loc.path +
                          ") is not an absolute path on " + p.node);
  return p;
}

// `command` as the user, and as root through `sudo -n` when the user may not (a file
// in /etc/dcs/cert, etcd's). The first attempt's output counts only if it succeeded
// (a stat that worked before a sha256sum that could not read is not printed twice),
// and its errors are dropped: the second attempt's tell.
std::string with_sudo_fallback(const std::string& command, const std::string& user) {
  if (user == "root") return command;
  return "out=$( { " + command + "; } 2>/dev/null ) && printf '%s\\n' \"$out\" || sudo -n sh -c " +
         shell_quote(command);
}

}  // namespace

Expected<CommandResult> run_copy(const CopySpec& spec, const TemplateValues& tv,
                                 const std::string& user, const NodeSession& session,
                                 Redactor& redactor, std::string* command, bool* unreachable) {
  *unreachable = false;
  std::vector<Place> from;
  for (const auto& loc : spec.from) {
    auto p = expand(loc, "from", tv);
    if (!p) return p.error();
    from.push_back(*p);
  }
  auto to = expand(spec.to, "to", tv);
  if (!to) return to.error();
  const bool folder = to->path.back() == '/';

  std::string sources;
  for (const auto& p : from) sources += (sources.empty() ? "" : ", ") + p.text();
  std::string attrs_text;
  if (spec.mode) attrs_text += "mode " + octal(*spec.mode);
  if (!spec.owner.empty() || !spec.group.empty()) {
    const std::string owner = expand_templates(spec.owner, tv);
    const std::string group = expand_templates(spec.group, tv);
    attrs_text += (attrs_text.empty() ? "" : ", ") + std::string("owner ") +
                  (owner.empty() ? "(kept)" : owner) + (group.empty() ? "" : ":" + group);
  }
  *command = "copy " + sources + " to " + to->text() +
             (attrs_text.empty() ? "" : " (" + attrs_text + ")");
  if (from.size() > 1 && !folder)
    return Failure::error("copy.to: several files go to a folder, and " + to->text() +
                          " does not end in /");

  auto connect = [&](const std::string& node) -> Expected<std::shared_ptr<Transport>> {
    auto t = session(node);
    if (!t) {
      *unreachable = true;
      return Failure{t.error().kind,
                     "cannot connect to " + node + " as " + user + ": " + t.error().message};
    }
    return t;
  };
  auto target = connect(to->node);
  if (!target) return target.error();

  ExecOptions quick;
  quick.timeout = std::chrono::seconds(60);
  std::string out;
  for (const auto& src : from) {
    auto source = connect(src.node);
    if (!source) return source.error();

    // What the source is, before reading it: a missing file or a folder is said plainly.
    const std::string stat =
        with_sudo_fallback("stat -L -c '%a %s %F' -- " + shell_quote(src.path), user);
    auto st = (*source)->exec(stat, quick);
    if (!st) return st.error();
    if (st->exit_status != 0) {
      const std::string why = first_line(st->err);
      return Failure::not_found("copy: cannot read " + src.text() + ": " +
                                (why.empty() ? "stat failed (exit " + std::to_string(st->exit_status) + ")" : why));
    }
    std::istringstream fields(st->out);
    std::string mode_text, type;
    long long size = -1;
    fields >> mode_text >> size;
    std::getline(fields >> std::ws, type);
    if (mode_text.empty() || size < 0 || mode_text.find_first_not_of("01234567") != std::string::npos)
      return Failure::error("copy: cannot tell what " + src.text() + " is: stat printed \"" +
                            first_line(st->out) + "\"");
    if (type.rfind("regular", 0) != 0)
      return Failure::error("copy: " + src.text() + " is a " + type + ", not a file");

    auto content = (*source)->get(src.path);
    if (!content)
      return Failure{content.error().kind, "copy: cannot read " + src.text() + ": " + content.error().message};
    // A private key is a secret from here on: a later step's `cat` of it is redacted.
    if (content->find("PRIVATE KEY-----") != std::string::npos) redactor.add(*content);
    const std::string digest = sha256_hex(*content);

    const std::string base = src.path.substr(src.path.rfind('/') + 1);
    const Place dst{to->node, folder ? to->path + base : to->path};
    FileAttributes attrs;
    attrs.mode = spec.mode ? *spec.mode : std::stoi(mode_text, nullptr, 8) & 07777;
    attrs.owner = expand_templates(spec.owner, tv);
    attrs.group = expand_templates(spec.group, tv);
    if (auto ok = (*target)->put(*content, dst.path, attrs); !ok)
      return Failure{ok.error().kind, "copy: cannot write " + dst.text() + ": " + ok.error().message};

    // What landed there, as the destination sees it.
    const std::string check = with_sudo_fallback(
        "stat -c '%a %U:%G' -- " + shell_quote(dst.path) + " && sha256sum -- " + shell_quote(dst.path), user);
    auto seen = (*target)->exec(check, quick);
    if (!seen) return seen.error();
    std::istringstream lines(seen->out);
    std::string seen_mode, seen_owner, seen_digest;
    lines >> seen_mode >> seen_owner >> seen_digest;
    if (seen->exit_status != 0 || seen_digest.empty() ||
        seen_mode.find_first_not_of("01234567") != std::string::npos)
      return Failure::error("copy: cannot check " + dst.text() + " after writing it: " +
                            first_line(seen->err.empty() ? seen->out : seen->err));
    if (seen_digest != digest)
      return Failure::error("copy: " + dst.text() + " holds SHA-256 " + seen_digest +
                            " after the copy, not the source's " + digest);
    out += src.text() + " -> " + dst.text() + ": " + std::to_string(content->size()) +
           " bytes, mode " + octal(std::stoi(seen_mode, nullptr, 8)) + ", " + seen_owner +
           ", sha256 " + digest + "\n";
  }
  return CommandResult{0, out, ""};
}

}  // namespace dcslab
