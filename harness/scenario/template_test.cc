#include "scenario/template.h"
#include "base/paths.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace dcslab {
namespace {

Lab test_lab() { return load_lab(source_dir() / "fixtures/labs/dcs.yaml"); }

TEST(Template, FindsNamesWithAndWithoutSpaces) {
  std::string err;
  const auto refs = find_templates("a {{node.ip}} b {{  nodes.dcs-01.fqdn }}", &err, nullptr);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].name, "node.ip");
  EXPECT_EQ(refs[0].offset, 2u);
  EXPECT_EQ(refs[1].name, "nodes.dcs-01.fqdn");
  EXPECT_TRUE(err.empty());
}

TEST(Template, MalformedIsAnError) {
  std::string err;
  std::size_t at = 0;
  find_templates("x {{ node.ip", &err, &at);
  EXPECT_NE(err.find("without a closing"), std::string::npos);
  EXPECT_EQ(at, 2u);
  err.clear();
  find_templates("{{ $(hostname) }}", &err, &at);
  EXPECT_NE(err.find("is not a template name"), std::string::npos);
}

TEST(Template, CheckNamesEveryValidChoice) {
  const Lab lab = test_lab();
  TemplateScope scope{&lab, {"endpoint"}, {"root_password"}, true};
  for (const char* ok : {"{{ node.name }}", "{{ node.ip }}", "{{ node.fqdn }}",
                         "{{ nodes.dcs-02.ip }}", "{{ lab.domain }}", "{{ lab.name }}",
                         "{{ lab.host }}", "{{ vars.endpoint }}", "{{ secrets.root_password }}"})
    EXPECT_FALSE(check_templates(ok, scope, nullptr)) << ok;
  std::size_t at = 0;
  auto err = check_templates("x={{ nodes.dcs-09.ip }}", scope, &at);
  ASSERT_TRUE(err);
  EXPECT_EQ(at, 2u);
  EXPECT_NE(err->find("unknown template name \"nodes.dcs-09.ip\" (valid: node.name"), std::string::npos);
  EXPECT_NE(err->find("vars.<endpoint>"), std::string::npos);
  EXPECT_TRUE(check_templates("{{ node.hostname }}", scope, nullptr));
  EXPECT_TRUE(check_templates("{{ vars.nope }}", scope, nullptr));
  EXPECT_TRUE(check_templates("{{ secrets.nope }}", scope, nullptr));
  scope.allow_vars = false;
  EXPECT_NE(check_templates("{{ vars.endpoint }}", scope, nullptr)->find("vars cannot refer to vars"),
            std::string::npos);
}

TEST(Template, ExpandsPerNodeAndThroughVars) {
  const Lab lab = test_lab();
  std::map<std::string, std::string> vars = {{"endpoint", "https://{{ node.ip }}:2379"}};
  std::map<std::string, std::string> secrets = {{"pw", "s3cret"}};
  TemplateValues v{&lab, lab.find_node("dcs-01"), &vars, &secrets};
  EXPECT_EQ(expand_templates("{{ node.name }} {{ node.ip }} {{ node.fqdn }}", v),
            "dcs-01 192.168.56.11 dcs-01.patroni.mydomain");
  EXPECT_EQ(expand_templates("{{ nodes.dcs-02.ip }}|{{ lab.domain }}|{{ lab.name }}", v),
            "192.168.56.12|patroni.mydomain|dcs");
  EXPECT_EQ(expand_templates("--endpoints={{ vars.endpoint }}", v),
            "--endpoints=https://192.168.56.11:2379");
  EXPECT_EQ(expand_templates("{{ secrets.pw }}", v), "s3cret");
  EXPECT_EQ(expand_templates("no templates", v), "no templates");
  EXPECT_EQ(expand_templates("{{ node.ip }}", v, [](const std::string& s) { return "<" + s + ">"; }),
            "<192.168.56.11>");
  EXPECT_THROW(expand_templates("{{ vars.other }}", v), BadInput);
}

}  // namespace
}  // namespace dcslab
