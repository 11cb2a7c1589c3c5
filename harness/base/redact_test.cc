#include "base/redact.h"

#include <gtest/gtest.h>

namespace dcslab {
namespace {

TEST(Redact, ReplacesEveryOccurrenceLongestFirst) {
  Redactor r;
  r.add("abc");
  r.add("abcdef");
  r.add("");
  EXPECT_EQ(r("x abcdef y abc z abc"), "x ******** y ******** z ********");
  EXPECT_EQ(r("nothing secret"), "nothing secret");
  EXPECT_FALSE(r.empty());
  EXPECT_TRUE(Redactor()("x") == "x");
}

}  // namespace
}  // namespace dcslab
