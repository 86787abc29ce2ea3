// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68
// bytes to U+0100.. in byte order (exactly openai/gpt-2 encoder.py).
#include "tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "tokenizer/unicode_text.h"

namespace chatforge::tok {
namespace {

struct ByteMap {
  std::array<std::string, 256> spelling;
  std::array<int16_t, 512> byte_of_cp;  // code points used are all < 0x144
  ByteMap() {
    byte_of_cp.fill(-1);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const int cp = printable ? b : 256 + next++;
      byte_of_cp[cp] = static_cast<int16_t>(b);
      std::string s;
      if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
      } else {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      spelling[b] = s;
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) { return byte_map().spelling[byte]; }

std::optional<std::string> unicode_to_bytes(std::string_view text) {
  const ByteMap& m = byte_map();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const DecodedChar c = decode_utf8(text, i);
    if (c.cp < 0 || c.cp >= static_cast<int32_t>(m.byte_of_cp.size()) || m.byte_of_cp[c.cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(m.byte_of_cp[c.cp]));
    i += c.len;
  }
  return out;
}

std::string bytes_to_unicode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += byte_to_unicode(b);
  return out;
}

}  // namespace chatforge::tok
