// The providers dcslab knows, by the name a lab file's provider.type (or --provider)
// gives: each with its factory and its check of the lab's provider section. This is the
// one place a provider's name maps to code: the lab loader, below
// providers/, keeps the section and where each key was, and whatever loads a lab for use
// (the CLI's commands, `run` for every scenario's lab) checks it here before anything is
// created.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "lab/lab.h"
#include "lab/state.h"
#include "providers/provider.h"

namespace dcslab {

struct ProviderEntry {
  std::string_view name;
  std::string_view summary;  // one line, for the CLI's help
  std::unique_ptr<Provider> (*create)(const Lab& lab, LabState& state);
  // Throws BadInput at the offending key's file:line:col for a provider section this
  // provider cannot use (libvirt: a remote URI); null when any section will do.
  void (*check_section)(const Lab& lab);
};

// Every provider, in the order help and error messages list them.
std::span<const ProviderEntry> provider_registry();

// The entry named `name`, or null.
const ProviderEntry* find_provider(std::string_view name);

// "libvirt, nspawn, virtualbox": the valid names, for messages.
std::string provider_names();

// Checks a loaded lab's provider section: a known provider.type (else BadInput "<file:
// line:col>: provider.type: unknown provider ..."), then that provider's own check.
void check_provider_section(const Lab& lab);

}  // namespace dcslab
