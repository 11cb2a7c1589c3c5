#include "providers/libvirt/libvirt_template.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include <sstream>

#include "base/digest.h"
#include "base/json.h"
#include "base/text.h"

namespace dcslab {

namespace fs = std::filesystem;

namespace {

std::string to_xml(const pugi::xml_node& node) {
  std::ostringstream out;
  node.print(out, "  ", pugi::format_default | pugi::format_no_declaration);
  return out.str();
}

std::string doc_xml(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default | pugi::format_no_declaration);
  return out.str();
}

// The first <disk> whose <target dev=...> is `dev`.
pugi::xml_node disk_by_target(pugi::xml_node devices, const char* dev) {
  for (auto d : devices.children("disk"))
    if (std::string(d.child("target").attribute("dev").as_string()) == dev) return d;
  return {};
}

void set_attr(pugi::xml_node n, const char* name, const std::string& value) {
  auto a = n.attribute(name);
  if (!a) a = n.append_attribute(name);
  a.set_value(value.c_str());
}

}  // namespace

std::string template_manifest_json(const TemplateManifest& m) {
  nlohmann::json j = {{"qemu", m.qemu},       {"libvirt", m.libvirt},       {"machine", m.machine},
                      {"cpu", m.cpu},         {"kernel", m.kernel},         {"image_hash", m.image_hash},
                      {"accel", m.accel},     {"memory_mib", m.memory_mib}, {"vcpus", m.vcpus}};
  return j.dump(2) + "\n";
}

Expected<TemplateManifest> parse_template_manifest(const std::string& json) {
  auto parsed = parse_json(json);
  if (!parsed) return Failure::error("template manifest: " + parsed.error().message());
  try {
    const auto& j = *parsed;
    TemplateManifest m;
    m.qemu = j.at("qemu").get<std::string>();
    m.libvirt = j.at("libvirt").get<std::string>();
    m.machine = j.at("machine").get<std::string>();
    m.cpu = j.at("cpu").get<std::string>();
    m.kernel = j.at("kernel").get<std::string>();
    m.image_hash = j.at("image_hash").get<std::string>();
    m.accel = j.at("accel").get<std::string>();
    m.memory_mib = j.at("memory_mib").get<int>();
    m.vcpus = j.at("vcpus").get<int>();
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Failure::error(std::string("template manifest: ") + e.what());
  }
}

std::string template_mismatch(const TemplateManifest& kept, const TemplateManifest& now) {
  const std::pair<const char*, std::pair<std::string, std::string>> fields[] = {
      {"qemu", {kept.qemu, now.qemu}},
      {"libvirt", {kept.libvirt, now.libvirt}},
      {"machine type", {kept.machine, now.machine}},
      {"cpu", {kept.cpu, now.cpu}},
      {"kernel", {kept.kernel, now.kernel}},
      {"image hash", {kept.image_hash, now.image_hash}},
      {"accelerator", {kept.accel, now.accel}},
      {"memory (MiB)", {std::to_string(kept.memory_mib), std::to_string(now.memory_mib)}},
      {"vCPUs", {std::to_string(kept.vcpus), std::to_string(now.vcpus)}},
  };
  for (const auto& [name, values] : fields)
    if (values.first != values.second)
      return fmt::format("{}: the template's is \"{}\", now \"{}\"", name, values.first, values.second);
  return "";
}

std::string template_shape(const DomainSpec& spec) {
  return fmt::format("{}-{}m-{}c", spec.kvm ? "kvm" : "tcg", spec.memory_mib, spec.vcpus);
}

TemplateFiles template_files(const fs::path& image_dir, const std::string& shape) {
  TemplateFiles f;
  f.dir = image_dir / "templates" / shape;
  f.disk = f.dir / "disk.qcow2";
  f.state = f.dir / "state.save";
  f.blank = f.dir / "blank.img";
  f.manifest = f.dir / "manifest.json";
  return f;
}

Expected<std::string> clone_domain_xml(const std::string& template_xml, const CloneSpec& clone) {
  pugi::xml_document doc;
  if (!doc.load_string(template_xml.c_str()))
    return Failure::error("the template's saved domain XML does not parse");
  auto dom = doc.child("domain");
  auto devices = dom.child("devices");
  const DomainSpec& s = clone.node;
  auto missing = [](const std::string& what) {
    return Failure::error("the template's saved domain XML has no " + what);
  };
  if (!dom.child("name") || !dom.child("uuid")) return missing("<name> or <uuid>");
  dom.child("name").text().set(s.name.c_str());
  dom.child("uuid").text().set(clone.uuid.c_str());

  // The same dcslab metadata a cold-booted node has (domain_xml).
  dom.remove_child("metadata");
  auto md = dom.insert_child_after("metadata", dom.child("uuid")).append_child("dcslab:lab");
  set_attr(md, "xmlns:dcslab", kDcslabXmlns);
  md.append_child("dcslab:name").text().set(s.lab.c_str());
  md.append_child("dcslab:node").text().set(s.node.c_str());

  auto vda = disk_by_target(devices, "vda");
  auto vdb = disk_by_target(devices, "vdb");
  if (!vda || !vda.child("source")) return missing("disk vda");
  if (!vdb || !vdb.child("source")) return missing("identity disk vdb");
  set_attr(vda.child("source"), "file", s.overlay.string());
  vda.child("source").remove_child("backingStore");
  vda.remove_child("backingStore");
  set_attr(vdb.child("source"), "file", s.identity.string());

  int nics = 0;
  for (auto nic : devices.children("interface")) {
    ++nics;
    set_attr(nic.child("mac"), "address", s.mac);
    set_attr(nic.child("source"), "network", s.network);
    // libvirt's live names (vnetN, the bridge) are the template's: a restore picks its own.
    nic.remove_child("target");
    nic.child("source").remove_attribute("bridge");
    nic.child("source").remove_attribute("portid");
    nic.remove_child("alias");
  }
  if (nics != 1) return missing("single lab NIC");
  int logs = 0;
  for (const char* kind : {"serial", "console"})
    for (auto c : devices.children(kind)) {
      set_attr(c.child("source"), "path", s.console_log.string());
      ++logs;
    }
  if (logs == 0) return missing("serial console");
  return doc_xml(doc);
}

std::string domain_xml_with_uuid(const std::string& xml, const std::string& uuid) {
  pugi::xml_document doc;
  if (!doc.load_string(xml.c_str())) return xml;
  auto dom = doc.child("domain");
  dom.remove_child("uuid");
  dom.insert_child_after("uuid", dom.child("name")).text().set(uuid.c_str());
  return doc_xml(doc);
}

std::string domain_cpu_xml(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_string(xml.c_str())) return "";
  auto cpu = doc.child("domain").child("cpu");
  return cpu ? rtrim(to_xml(cpu)) : "";
}

std::string random_uuid() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  const std::string h = hex(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20);
}

}  // namespace dcslab
