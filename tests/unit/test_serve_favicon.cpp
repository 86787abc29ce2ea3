// /favicon.ico of `chatforge serve`: a well-formed ICO (header, one 32x32 32-bit entry whose
// size and offset match the bytes, a BMP header with the doubled height) whose pixels are the
// speech bubble: transparent corners (AND mask set), accent-blue body, white dots.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "serve/favicon.h"

namespace chatforge::serve {
namespace {

uint32_t u16(std::string_view s, size_t at) {
  return static_cast<uint8_t>(s[at]) | static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 8;
}
uint32_t u32(std::string_view s, size_t at) { return u16(s, at) | u16(s, at + 2) << 16; }

// (B, G, R, A) of pixel (x, y), y = 0 at the top (rows are stored bottom-up).
uint32_t bgra(std::string_view ico, int x, int y) { return u32(ico, 62 + ((31 - y) * 32 + x) * 4); }
bool mask_bit(std::string_view ico, int x, int y) {
  const uint8_t b = static_cast<uint8_t>(ico[62 + 32 * 32 * 4 + (31 - y) * 4 + x / 8]);
  return (b >> (7 - x % 8)) & 1;
}

TEST(Favicon, IsAWellFormed32x32Icon) {
  const std::string_view ico = favicon_ico();
  EXPECT_EQ(kFaviconContentType, "image/x-icon");
  ASSERT_EQ(ico.size(), 6u + 16 + 40 + 32 * 32 * 4 + 32 * 4);
  EXPECT_EQ(u16(ico, 0), 0u);  // reserved
  EXPECT_EQ(u16(ico, 2), 1u);  // icon
  EXPECT_EQ(u16(ico, 4), 1u);  // one image
  EXPECT_EQ(static_cast<uint8_t>(ico[6]), 32);
  EXPECT_EQ(static_cast<uint8_t>(ico[7]), 32);
  EXPECT_EQ(u16(ico, 12), 32u);              // bits per pixel
  EXPECT_EQ(u32(ico, 14), ico.size() - 22);  // image bytes
  EXPECT_EQ(u32(ico, 18), 22u);              // image offset
  EXPECT_EQ(u32(ico, 22), 40u);              // BITMAPINFOHEADER
  EXPECT_EQ(u32(ico, 26), 32u);
  EXPECT_EQ(u32(ico, 30), 64u);  // XOR image + AND mask
  EXPECT_EQ(u16(ico, 36), 32u);
  EXPECT_EQ(favicon_ico().data(), ico.data());  // built once
}

TEST(Favicon, PixelsAreTheBubble) {
  const std::string_view ico = favicon_ico();
  EXPECT_EQ(bgra(ico, 0, 0), 0u);  // corners transparent
  EXPECT_EQ(bgra(ico, 31, 31), 0u);
  EXPECT_TRUE(mask_bit(ico, 0, 0));
  EXPECT_EQ(bgra(ico, 5, 18), 0xff2563ebu);  // the body, #2563eb opaque
  EXPECT_FALSE(mask_bit(ico, 5, 18));
  EXPECT_EQ(bgra(ico, 16, 12), 0xffffffffu);  // the middle dot
  EXPECT_EQ(bgra(ico, 9, 25), 0xff2563ebu);   // the tail
  int opaque = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const bool visible = (bgra(ico, x, y) >> 24) == 0xff;
      opaque += visible;
      EXPECT_EQ(mask_bit(ico, x, y), !visible) << x << "," << y;
    }
  EXPECT_GT(opaque, 400);
  EXPECT_LT(opaque, 800);
}

}  // namespace
}  // namespace chatforge::serve
