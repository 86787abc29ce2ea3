// Implementation of favicon.h: a rounded speech bubble with a tail and three dots.
#include "serve/favicon.h"

#include <cstdint>
#include <string>

namespace chatforge::serve {
namespace {

constexpr int kSize = 32;

void put_u16(std::string& s, uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put_u32(std::string& s, uint32_t v) {
  put_u16(s, v & 0xffff);
  put_u16(s, v >> 16);
}

// 0 transparent, 1 bubble (accent #2563eb), 2 dot (white); (x, y) with y = 0 at the top.
int pixel(int x, int y) {
  // The bubble: a rounded rectangle (2..29, 3..22) with corner radius 6.
  constexpr int x0 = 2, x1 = 29, y0 = 3, y1 = 22, r = 6;
  const int cx = x < x0 + r ? x0 + r : (x > x1 - r ? x1 - r : x);
  const int cy = y < y0 + r ? y0 + r : (y > y1 - r ? y1 - r : y);
  const bool in_box = x >= x0 && x <= x1 && y >= y0 && y <= y1 && (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
  // The tail: a triangle below the bubble's left part, pointing down-left.
  const bool in_tail = y > y1 && y <= 28 && x >= 7 + (y - y1) / 2 && x <= 15 - (y - y1);
  if (!in_box && !in_tail) return 0;
  // Three dots (radius 2) on the bubble's middle line.
  for (const int dx : {9, 16, 23})
    if ((x - dx) * (x - dx) + (y - 12) * (y - 12) <= 5) return 2;
  return 1;
}

std::string build() {
  std::string s;
  const uint32_t pixels = kSize * kSize * 4, mask = kSize * (kSize / 8), image = 40 + pixels + mask;
  // ICONDIR: reserved, type 1 (icon), one image.
  put_u16(s, 0);
  put_u16(s, 1);
  put_u16(s, 1);
  // ICONDIRENTRY: width, height, colours (0 = true colour), reserved, planes, bits, size, offset.
  s += static_cast<char>(kSize);
  s += static_cast<char>(kSize);
  s += '\0';
  s += '\0';
  put_u16(s, 1);
  put_u16(s, 32);
  put_u32(s, image);
  put_u32(s, 6 + 16);
  // BITMAPINFOHEADER: the height counts the XOR image and the AND mask (2 * 32).
  put_u32(s, 40);
  put_u32(s, kSize);
  put_u32(s, 2 * kSize);
  put_u16(s, 1);
  put_u16(s, 32);
  put_u32(s, 0);  // BI_RGB
  put_u32(s, pixels + mask);
  for (int i = 0; i < 4; ++i) put_u32(s, 0);  // resolution, palette
  for (int y = kSize - 1; y >= 0; --y)        // BGRA, bottom row first
    for (int x = 0; x < kSize; ++x) {
      const int p = pixel(x, y);
      const uint32_t bgra = p == 0 ? 0x00000000u : p == 1 ? 0xff2563ebu : 0xffffffffu;  // ARGB
      put_u32(s, bgra);  // little-endian ARGB = bytes B, G, R, A
    }
  // AND mask: 1 = transparent (ignored where alpha is present, but kept consistent).
  for (int y = kSize - 1; y >= 0; --y)
    for (int byte = 0; byte < kSize / 8; ++byte) {
      unsigned char bits = 0;
      for (int b = 0; b < 8; ++b)
        if (pixel(byte * 8 + b, y) == 0) bits |= static_cast<unsigned char>(0x80 >> b);
      s += static_cast<char>(bits);
    }
  return s;
}

}  // namespace

std::string_view favicon_ico() {
  static const std::string ico = build();
  return ico;
}

}  // namespace chatforge::serve
