#include "base/json.h"

#include <gtest/gtest.h>

namespace dcslab {
namespace {

TEST(ParseJson, GivesTheValue) {
  auto j = parse_json(R"({"a": [1, 2], "b": "x"})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->at("a").size(), 2u);
  EXPECT_EQ(j->at("b"), "x");
}

TEST(ParseJson, NamesTheLineWhereTheTextBroke) {
  auto j = parse_json("{\n  \"a\": 1,\n  \"b\": oops\n}\n");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().line, 3);
  EXPECT_EQ(j.error().reason.find("[json.exception"), std::string::npos) << j.error().reason;
  EXPECT_NE(j.error().reason.find("syntax error"), std::string::npos) << j.error().reason;
  EXPECT_EQ(j.error().message().rfind("not JSON: line 3: ", 0), 0u) << j.error().message();
}

TEST(ParseJson, EmptyAndTruncatedTextAreErrorsNotCrashes) {
  EXPECT_FALSE(parse_json("").ok());
  auto j = parse_json("{\"a\": [1, 2");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().line, 1);
}

TEST(LineOfByte, CountsNewlinesBeforeTheByteAndClampsAtTheEnd) {
  EXPECT_EQ(line_of_byte("a\nb\nc", 0), 1);
  EXPECT_EQ(line_of_byte("a\nb\nc", 2), 2);
  EXPECT_EQ(line_of_byte("a\nb\nc", 4), 3);
  EXPECT_EQ(line_of_byte("a\nb\nc", 99), 3);
}

}  // namespace
}  // namespace dcslab
