#include "base/error.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace dcslab {
namespace {

struct Refusal {
  int code = 0;
};

Expected<int, Refusal> parse(const std::string& s) {
  if (s.empty()) return Refusal{7};
  return static_cast<int>(s.size());
}

Expected<std::unique_ptr<int>> owned(bool ok) {
  if (!ok) return Failure::not_found("nothing");
  return std::make_unique<int>(42);
}

// TRY_ASSIGN declares, TRY propagates; the error type is the callee's own.
Expected<int, Refusal> twice(const std::string& s, int* reached) {
  DCSLAB_TRY_ASSIGN(const int n, parse(s));
  *reached = 1;
  DCSLAB_TRY(parse(s.substr(1)));
  *reached = 2;
  return 2 * n;
}

Expected<int> unwrap(bool ok) {
  DCSLAB_TRY_ASSIGN(std::unique_ptr<int> p, owned(ok));  // move-only values move
  int out = 0;
  DCSLAB_TRY_ASSIGN(out, Expected<int>(*p + 1));  // or assign a variable
  return out;
}

Expected<void, Refusal> check(bool ok) {
  if (!ok) return Refusal{3};
  return {};
}

Expected<int, Refusal> after_check(bool ok) {
  DCSLAB_TRY(check(ok));
  return 1;
}

TEST(Expected, ValueOrTheCallersOwnError) {
  int reached = 0;
  auto a = twice("ab", &reached);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 4);
  EXPECT_EQ(reached, 2);

  reached = 0;
  auto b = twice("", &reached);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, 7);
  EXPECT_EQ(reached, 0);  // returned at the first TRY_ASSIGN

  reached = 0;
  auto c = twice("a", &reached);  // the second parse sees ""
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, 7);
  EXPECT_EQ(reached, 1);
}

TEST(Expected, MoveOnlyValuesAndVoid) {
  auto ok = unwrap(true);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, 43);
  auto missing = unwrap(false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Failure::Kind::NotFound);
  EXPECT_EQ(missing.error().message, "nothing");

  EXPECT_TRUE(after_check(true));
  auto refused = after_check(false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, 3);
}

}  // namespace
}  // namespace dcslab
