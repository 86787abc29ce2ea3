// Implementation of gguf_writer.h.
#include "interop/gguf_writer.h"

#include <cmath>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"

namespace chatforge::interop {
namespace {

// GGUF metadata value types.
enum : uint32_t { kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9 };

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, arm64)
  out.append(b, sizeof(T));
}
void put_str(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}
constexpr int kQ8Block = 32;

}  // namespace

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return "f32";
    case GgmlType::F16: return "f16";
    case GgmlType::Q8_0: return "q8_0";
  }
  return "?";
}

size_t ggml_row_bytes(GgmlType t, uint64_t n) {
  switch (t) {
    case GgmlType::F32: return n * 4;
    case GgmlType::F16: return n * 2;
    case GgmlType::Q8_0: return n / kQ8Block * (2 + kQ8Block);
  }
  return 0;
}

std::vector<uint8_t> ggml_encode(GgmlType t, const float* x, uint64_t n) {
  std::vector<uint8_t> out(ggml_row_bytes(t, n));
  if (t == GgmlType::F32) {
    std::memcpy(out.data(), x, n * 4);
  } else if (t == GgmlType::F16) {
    for (uint64_t i = 0; i < n; ++i) {
      const uint16_t h = float_to_half(x[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  } else {
    CF_CHECK(n % kQ8Block == 0, "q8_0 needs a multiple of {} values, got {}", kQ8Block, n);
    uint8_t* p = out.data();
    for (uint64_t b = 0; b < n; b += kQ8Block, p += 2 + kQ8Block) {
      float amax = 0;
      for (int j = 0; j < kQ8Block; ++j) amax = std::max(amax, std::fabs(x[b + j]));
      const float d = amax / 127.0f;
      const float id = d != 0 ? 1.0f / d : 0.0f;
      const uint16_t dh = float_to_half(d);
      std::memcpy(p, &dh, 2);
      for (int j = 0; j < kQ8Block; ++j) p[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(x[b + j] * id)));
    }
  }
  return out;
}

void GgufWriter::key(const std::string& k, uint32_t type) {
  put_str(kv_, k);
  put<uint32_t>(kv_, type);
  ++kv_count_;
}
void GgufWriter::add_u32(const std::string& k, uint32_t v) { key(k, kU32); put(kv_, v); }
void GgufWriter::add_f32(const std::string& k, float v) { key(k, kF32); put(kv_, v); }
void GgufWriter::add_bool(const std::string& k, bool v) { key(k, kBool); put<uint8_t>(kv_, v ? 1 : 0); }
void GgufWriter::add_string(const std::string& k, const std::string& v) { key(k, kString); put_str(kv_, v); }
void GgufWriter::add_string_array(const std::string& k, const std::vector<std::string>& v) {
  key(k, kArray);
  put<uint32_t>(kv_, kString);
  put<uint64_t>(kv_, v.size());
  for (const auto& s : v) put_str(kv_, s);
}
void GgufWriter::add_i32_array(const std::string& k, const std::vector<int32_t>& v) {
  key(k, kArray);
  put<uint32_t>(kv_, kI32);
  put<uint64_t>(kv_, v.size());
  for (int32_t x : v) put(kv_, x);
}

void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> ne, GgmlType type, std::vector<uint8_t> data) {
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;
  CF_CHECK(!ne.empty() && ne.size() <= 4, "GGUF tensor '{}': 1 to 4 dimensions", name);
  CF_CHECK(type != GgmlType::Q8_0 || ne[0] % kQ8Block == 0, "GGUF tensor '{}': q8_0 rows must be a multiple of 32",
           name);
  CF_CHECK(data.size() == ggml_row_bytes(type, n), "GGUF tensor '{}': {} bytes of data, expected {}", name,
           data.size(), ggml_row_bytes(type, n));
  for (const auto& t : tensors_) CF_CHECK(t.name != name, "GGUF: duplicate tensor '{}'", name);
  tensors_.push_back({name, std::move(ne), type, std::move(data)});
}

void GgufWriter::write(const std::string& path) const {
  std::string head;
  head += "GGUF";
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_count_);
  head += kv_;
  uint64_t offset = 0;
  auto align = [](uint64_t x) { return (x + kAlignment - 1) / kAlignment * kAlignment; };
  for (const auto& t : tensors_) {
    put_str(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) put<uint64_t>(head, d);
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offset);
    offset = align(offset + t.data.size());
  }
  head.resize(align(head.size()), '\0');
  AtomicFile f(path);
  f.write(head);
  static const char zeros[kAlignment] = {};
  for (const auto& t : tensors_) {
    f.write(t.data.data(), t.data.size());
    f.write(zeros, align(t.data.size()) - t.data.size());
  }
  f.commit();
}

}  // namespace chatforge::interop
