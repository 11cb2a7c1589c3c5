#include "providers/registry.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/error.h"
#include "base/paths.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

const char* kMinimal = R"(name: t
network:
  cidr: 10.9.0.0/24
  host: 10.9.0.1
  domain: example.test
nodes:
  - name: a
    ip: 10.9.0.2
)";

std::string check_error(const Lab& lab) {
  try {
    check_provider_section(lab);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ProviderRegistry, NamesEveryProviderOnce) {
  EXPECT_EQ(provider_names(), "libvirt, nspawn, virtualbox");
  for (const auto& p : provider_registry()) {
    EXPECT_EQ(find_provider(p.name), &p);
    EXPECT_FALSE(p.summary.empty()) << p.name;
    EXPECT_NE(p.create, nullptr) << p.name;
  }
  EXPECT_EQ(find_provider("docker"), nullptr);
  EXPECT_EQ(find_provider(""), nullptr);
}

TEST(ProviderRegistry, UnknownTypeIsNamedAtItsLine) {
  const Lab lab = parse_lab(std::string(kMinimal) + "provider:\n  type: docker\n", "lab.yaml");
  EXPECT_EQ(check_error(lab),
            "lab.yaml:10:9: provider.type: unknown provider \"docker\" (valid: libvirt, nspawn, "
            "virtualbox)");
  // A type that did not come from the file (the command line's) names the file alone.
  Lab set = lab;
  set.provider.type_at.clear();
  EXPECT_EQ(check_error(set).rfind("lab.yaml: provider.type: unknown provider", 0), 0u)
      << check_error(set);
}

TEST(ProviderRegistry, LibvirtRefusesARemoteUriOthersIgnoreIt) {
  const std::string remote = std::string(kMinimal) + "provider:\n  type: TYPE\n  uri: qemu+ssh://hv1/system\n";
  auto with = [&](const std::string& type) {
    std::string text = remote;
    text.replace(text.find("TYPE"), 4, type);
    return parse_lab(text, "lab.yaml");
  };
  EXPECT_EQ(check_error(with("libvirt")).rfind(
                "lab.yaml:11:8: provider.uri: \"qemu+ssh://hv1/system\" names a remote libvirt host", 0),
            0u)
      << check_error(with("libvirt"));
  EXPECT_EQ(check_error(with("nspawn")), "(no error)");
  EXPECT_EQ(check_error(with("virtualbox")), "(no error)");
  EXPECT_EQ(check_error(parse_lab(kMinimal, "lab.yaml")), "(no error)");  // the defaults
}

// Every fixture under fixtures/bad/ whose name starts with "lab-" carries its expected
// error in a first-line comment "# expect-error: :LINE:COL: key: message": loading it for
// use (the loader, then the registry's check) gives exactly that error.
TEST(ProviderRegistry, BadLabFixturesEachGiveTheirError) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(source_dir() / "fixtures/bad")) {
    const auto name = entry.path().filename().string();
    if (name.rfind("lab-", 0) != 0) continue;
    std::ifstream in(entry.path());
    std::string first;
    std::getline(in, first);
    const std::string tag = "# expect-error: ";
    ASSERT_EQ(first.rfind(tag, 0), 0u) << name << " lacks an expect-error line";
    const std::string expected = entry.path().string() + first.substr(tag.size());
    try {
      check_provider_section(load_lab(entry.path()));
      ADD_FAILURE() << name << " loaded without error";
    } catch (const BadInput& e) {
      EXPECT_EQ(std::string(e.what()).rfind(expected, 0), 0u)
          << name << "\n  got:      " << e.what() << "\n  expected: " << expected << "...";
    }
    ++checked;
  }
  EXPECT_GE(checked, 9);
}

}  // namespace
}  // namespace dcslab
