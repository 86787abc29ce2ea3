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
constexpr int kQBlock = 32;  // values per Q8_0 / Q4_0 block

void encode_q8_0(const float* x, uint64_t n, uint8_t* p) {
  for (uint64_t b = 0; b < n; b += kQBlock, p += 2 + kQBlock) {
    float amax = 0;
    for (int j = 0; j < kQBlock; ++j) amax = std::max(amax, std::fabs(x[b + j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = float_to_half(d);
    std::memcpy(p, &dh, 2);
    for (int j = 0; j < kQBlock; ++j) p[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(x[b + j] * id)));
  }
}

// ggml's quantize_row_q4_0_ref: the scale maps the largest-magnitude value to -8 exactly.
void encode_q4_0(const float* x, uint64_t n, uint8_t* p) {
  constexpr int kHalf = kQBlock / 2;
  for (uint64_t b = 0; b < n; b += kQBlock, p += 2 + kHalf) {
    float amax = 0, max = 0;
    for (int j = 0; j < kQBlock; ++j)
      if (amax < std::fabs(x[b + j])) {
        amax = std::fabs(x[b + j]);
        max = x[b + j];
      }
    const float d = max / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = float_to_half(d);
    std::memcpy(p, &dh, 2);
    auto q = [&](float v) { return static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>(v * id + 8.5f)))); };
    for (int j = 0; j < kHalf; ++j) p[2 + j] = static_cast<uint8_t>(q(x[b + j]) | (q(x[b + kHalf + j]) << 4));
  }
}

}  // namespace

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return "f32";
    case GgmlType::F16: return "f16";
    case GgmlType::Q4_0: return "q4_0";
    case GgmlType::Q8_0: return "q8_0";
  }
  return "?";
}

bool ggml_is_quantized(GgmlType t) { return t == GgmlType::Q8_0 || t == GgmlType::Q4_0; }

size_t ggml_row_bytes(GgmlType t, uint64_t n) {
  switch (t) {
    case GgmlType::F32: return n * 4;
    case GgmlType::F16: return n * 2;
    case GgmlType::Q4_0: return n / kQBlock * (2 + kQBlock / 2);
    case GgmlType::Q8_0: return n / kQBlock * (2 + kQBlock);
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
    CF_CHECK(n % kQBlock == 0, "{} needs a multiple of {} values, got {}", ggml_type_name(t), kQBlock, n);
    if (t == GgmlType::Q8_0)
      encode_q8_0(x, n, out.data());
    else
      encode_q4_0(x, n, out.data());
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
  CF_CHECK(!ggml_is_quantized(type) || ne[0] % kQBlock == 0, "GGUF tensor '{}': {} rows must be a multiple of 32",
           name, ggml_type_name(type));
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
