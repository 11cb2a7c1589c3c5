// Booted templates for the libvirt provider (issue 18): one node of an image booted once
// to the point where it waits for its identity, saved with its memory, and restored as
// every node of a lab instead of booting each (seconds instead of a TCG boot).
//
// Kept beside the image, so a rebuilt image (a new hash, a new folder) has none:
//   <image>/templates/<shape>/disk.qcow2     the template's disk (an overlay over the
//                                            image's), read-only; every clone's overlay
//                                            is backed by it
//   <image>/templates/<shape>/state.save     libvirt's save image (raw, not compressed)
//   <image>/templates/<shape>/blank.img      the identity disk the template booted with:
//                                            zeros, so dcslab-identity found no archive
//   <image>/templates/<shape>/manifest.json  what the saved state depends on
// <shape> is the accelerator, memory and vCPUs of the node.
//
// In the guest: the template boots without an identity (no host key, so sshd is skipped
// by a condition; an empty /run/dcslab/clone). A clone is resumed, gets its identity.tar
// through the guest agent, then the trigger line "MAC SEED"; images/files/dcslab-clone
// sets the MAC, reseeds the kernel's random generator from SEED and applies the identity,
// and sshd starts.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/error.h"
#include "providers/libvirt/libvirt_xml.h"

namespace dcslab {

// What a template's saved state depends on. A restore with any field different would
// fail or run a machine unlike the lab's: up then boots cold and names the field.
struct TemplateManifest {
  std::string qemu;         // QEMU's version and its binary's identity (size, mtime)
  std::string libvirt;      // libvirt's version
  std::string machine;      // the machine type "pc" resolves to (pc-i440fx-7.2)
  std::string cpu;          // the <cpu> element dcslab defines
  std::string kernel;       // sha256 of the image's kernel and initrd
  std::string image_hash;
  std::string accel;        // kvm or tcg
  int memory_mib = 0;
  int vcpus = 0;
};

std::string template_manifest_json(const TemplateManifest& m);
Expected<TemplateManifest> parse_template_manifest(const std::string& json);

// "" when `kept` (the template's) fits `now` (this host and lab); else which field
// differs and both values, e.g. "qemu: the template's is 7.2.22 (...), now 8.0.0 (...)".
std::string template_mismatch(const TemplateManifest& kept, const TemplateManifest& now);

// "<accel>-<memory>m-<vcpus>c"
std::string template_shape(const DomainSpec& spec);

struct TemplateFiles {
  std::filesystem::path dir, disk, state, blank, manifest;
};
TemplateFiles template_files(const std::filesystem::path& image_dir, const std::string& shape);

// A clone's domain XML: the template's saved XML (libvirt's, with every address and
// the resolved machine type, which the saved QEMU state must match) with the node's own
// name, a new UUID, the dcslab metadata, its overlay (vda), identity disk (vdb), MAC and
// network, and console log. Fails when the XML lacks one of those elements.
struct CloneSpec {
  std::string uuid;  // new, random
  DomainSpec node;   // the node's cold-boot spec: name, lab, node, overlay, identity, mac,
                     // network, console_log
};
Expected<std::string> clone_domain_xml(const std::string& template_xml, const CloneSpec& clone);

// `xml` (a domain XML without one) with <uuid> set: the persistent, cold-bootable
// definition of a restored clone must carry the UUID the running domain has.
std::string domain_xml_with_uuid(const std::string& xml, const std::string& uuid);

// The <cpu> element of a domain XML, serialized ("" when none).
std::string domain_cpu_xml(const std::string& xml);

// A random RFC 4122 version 4 UUID.
std::string random_uuid();

}  // namespace dcslab
