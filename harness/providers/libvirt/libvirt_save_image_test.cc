#include "providers/libvirt/libvirt_save_image.h"

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "base/file.h"
#include <cstring>

namespace dcslab {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dcslab-saveimg-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

SaveImageHeader template_header() {
  SaveImageHeader h;
  h.data_len = 4096;
  h.was_running = 1;
  h.xml = "<domain type='qemu'><name>tpl</name></domain>";
  h.cookie = "<qemu-migration><name>tpl</name></qemu-migration>";
  h.unused[3] = 7;
  return h;
}

TEST(SaveImageHeader, RoundTripsANewXmlWithTheTemplatesCookieAndPadding) {
  const SaveImageHeader tpl = template_header();
  const std::string xml = "<domain type='qemu'><name>dcslab-lab-dcs-01</name></domain>";
  auto bytes = save_header_bytes(tpl, xml);
  ASSERT_TRUE(bytes) << bytes.error().message;
  ASSERT_EQ(bytes->size(), kSaveHeaderSize + 4096);
  EXPECT_EQ(bytes->substr(0, 16), "LibvirtQemudSave");
  // Zero padding after XML NUL cookie NUL, up to data_len.
  const std::size_t used = kSaveHeaderSize + xml.size() + 1 + tpl.cookie.size() + 1;
  EXPECT_EQ(bytes->find_first_not_of('\0', used), std::string::npos);

  auto back = parse_save_header(*bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->version, 2u);
  EXPECT_EQ(back->data_len, 4096u);
  EXPECT_EQ(back->was_running, 1u);
  EXPECT_EQ(back->compressed, 0u);
  EXPECT_EQ(back->unused[3], 7u);
  EXPECT_EQ(back->xml, xml);
  EXPECT_EQ(back->cookie, tpl.cookie);
  EXPECT_EQ(back->stream_offset(), kSaveHeaderSize + 4096);
  // cookieOffset (the fifth field) is the XML's length with its NUL.
  uint32_t cookie_offset = 0;
  std::memcpy(&cookie_offset, bytes->data() + 16 + 16, 4);
  EXPECT_EQ(cookie_offset, xml.size() + 1);
}

TEST(SaveImageHeader, RefusesAnXmlThatDoesNotFit) {
  SaveImageHeader tpl = template_header();
  tpl.data_len = 100;
  auto bytes = save_header_bytes(tpl, std::string(60, 'x'));
  ASSERT_FALSE(bytes);
  EXPECT_NE(bytes.error().message.find("does not fit"), std::string::npos) << bytes.error().message;
  // Exactly fitting: XML NUL cookie NUL == data_len.
  tpl.data_len = static_cast<uint32_t>(60 + 1 + tpl.cookie.size() + 1);
  EXPECT_TRUE(save_header_bytes(tpl, std::string(60, 'x')));
  tpl.data_len -= 1;
  EXPECT_FALSE(save_header_bytes(tpl, std::string(60, 'x')));
}

TEST(SaveImageHeader, RefusesWhatIsNotASaveImage) {
  EXPECT_FALSE(parse_save_header("LibvirtQemudPart" + std::string(200, '\0')));  // unfinished save
  EXPECT_FALSE(parse_save_header("short"));
  auto bytes = save_header_bytes(template_header(), "<domain/>");
  ASSERT_TRUE(bytes);
  EXPECT_FALSE(parse_save_header(bytes->substr(0, 500)));  // cut inside data_len
  std::string v3 = *bytes;
  v3[16] = 3;
  EXPECT_FALSE(parse_save_header(v3));
  EXPECT_FALSE(save_header_bytes(template_header(), std::string("a\0b", 3)));
}

TEST(SaveImageHeader, WritesTheCloneImageToAFifoWithTheTemplatesStream) {
  TempDir dir;
  const auto tpl_file = dir.path / "tpl.save";
  auto header = save_header_bytes(template_header(), template_header().xml);
  ASSERT_TRUE(header);
  std::string stream;
  for (int i = 0; i < 300000; ++i) stream.push_back(static_cast<char>(i * 7));
  ASSERT_TRUE(write_file(tpl_file, *header + stream));
  auto read_back = read_save_header(tpl_file);
  ASSERT_TRUE(read_back) << read_back.error().message;
  EXPECT_EQ(read_back->xml, template_header().xml);

  const auto fifo = dir.path / "clone.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> cancel{false};
  Expected<void> written;
  std::thread writer([&] { written = write_clone_save_image(tpl_file, "<domain>c1</domain>", fifo, cancel); });
  std::ifstream in(fifo, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  writer.join();
  ASSERT_TRUE(written) << written.error().message;
  auto h = parse_save_header(got);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->xml, "<domain>c1</domain>");
  EXPECT_EQ(h->cookie, template_header().cookie);
  EXPECT_EQ(got.substr(h->stream_offset()), stream);
}

TEST(SaveImageHeader, AFifoNobodyOpensIsGivenUpOnCancel) {
  TempDir dir;
  const auto tpl_file = dir.path / "tpl.save";
  ASSERT_TRUE(write_file(tpl_file, *save_header_bytes(template_header(), "<domain/>")));
  const auto fifo = dir.path / "clone.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> cancel{false};
  Expected<void> written;
  std::thread writer([&] { written = write_clone_save_image(tpl_file, "<domain/>", fifo, cancel); });
  cancel = true;
  writer.join();
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("nobody read"), std::string::npos);
}

}  // namespace
}  // namespace dcslab
