#include "base/text.h"

#include <gtest/gtest.h>

#include <vector>

namespace dcslab {
namespace {

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "/dcslab/writes/w1/key-3",
                                                      std::string("\0\xff", 2)}) {
    std::string back;
    ASSERT_TRUE(base64_decode(base64_encode(s), &back)) << s;
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("bar!"), "YmFyIQ==");
  std::string out;
  EXPECT_FALSE(base64_decode("Zm9v*", &out));
  EXPECT_FALSE(base64_decode("Zm=9", &out));
}

TEST(Text, TrimJoinHex) {
  EXPECT_EQ(trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim(" \n"), "");
  EXPECT_EQ(rtrim("  a \n"), "  a");
  EXPECT_EQ(rtrim("a \r\n\n", "\r\n"), "a ");
  EXPECT_EQ(rtrim("\n\n", "\n"), "");
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(join({}, ","), "");
  EXPECT_EQ(hex(std::string("\x00\x7f\xff", 3)), "007fff");
}

TEST(Text, StripAnsiKeepsOnlyTheText) {
  EXPECT_EQ(strip_ansi("\x1b[0;1;31mFailed to allocate manager object\x1b[0m."),
            "Failed to allocate manager object.");
  EXPECT_EQ(strip_ansi("[  \x1b[0;32mOK  \x1b[0m] Started"), "[  OK  ] Started");
  EXPECT_EQ(strip_ansi("plain [brackets] stay"), "plain [brackets] stay");
  EXPECT_EQ(strip_ansi("cut short \x1b[0;3"), "cut short ");
  EXPECT_EQ(strip_ansi("lone \x1b escape"), "lone  escape");
}

TEST(Text, UtcTimestamps) {
  // 2026-12-03 09:07:16.9 UTC: the fraction is dropped, never rounded up.
  const auto t = std::chrono::system_clock::from_time_t(1796288836) + std::chrono::milliseconds(900);
  EXPECT_EQ(utc_iso8601(t), "2026-12-03T09:07:16Z");
  EXPECT_EQ(utc_compact(t), "20261203T090716Z");
  EXPECT_EQ(utc_iso8601(std::chrono::system_clock::from_time_t(0)), "1970-01-01T00:00:00Z");
  const std::string now = utc_now_iso8601();
  ASSERT_EQ(now.size(), 20u) << now;
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}

TEST(Text, StableHashNeverChanges) {
  // Values computed outside dcslab (FNV-1a steps from dcslab's offset basis): names and
  // MAC addresses of existing labs derive from them, so they must stay what they were.
  EXPECT_EQ(stable_hash(""), 1469598103934665603ull);
  EXPECT_EQ(stable_hash("a"), 4953267810257967366ull);
  EXPECT_EQ(stable_hash("vbox/dcs/dcs-00"), 17508109805997308487ull);
}

TEST(Text, ByteSizes) {
  EXPECT_EQ(parse_byte_size("4096"), 4096u);
  EXPECT_EQ(parse_byte_size("512KiB"), 512u * 1024);
  EXPECT_EQ(parse_byte_size("16MiB"), 16u << 20);
  EXPECT_EQ(parse_byte_size("16M"), 16u << 20);
  EXPECT_EQ(parse_byte_size("1GiB"), std::uint64_t{1} << 30);
  EXPECT_FALSE(parse_byte_size(""));
  EXPECT_FALSE(parse_byte_size("MiB"));
  EXPECT_FALSE(parse_byte_size("16 MiB"));
  EXPECT_FALSE(parse_byte_size("16MB"));
  EXPECT_FALSE(parse_byte_size("-1"));
  EXPECT_FALSE(parse_byte_size("99999999999999999999999"));
  EXPECT_FALSE(parse_byte_size("9999999999G"));
  EXPECT_EQ(format_bytes(1), "1 byte");
  EXPECT_EQ(format_bytes(812), "812 bytes");
  EXPECT_EQ(format_bytes(16u << 20), "16 MiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
}

}  // namespace
}  // namespace dcslab
