// Implementation of safetensors.h.
#include "core/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_util.h"

namespace chatforge {

using json = nlohmann::json;

namespace {
struct DTypeRow {
  DType d;
  const char* name;
  size_t size;
};
constexpr DTypeRow kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2}, {DType::F64, "F64", 8},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2},   {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1},
};
constexpr uint64_t kMaxHeader = 100ull << 20;  // the format's own limit is 100 MB
}  // namespace

const char* dtype_name(DType d) {
  for (const auto& r : kDTypes)
    if (r.d == d) return r.name;
  return "?";
}
size_t dtype_size(DType d) {
  for (const auto& r : kDTypes)
    if (r.d == d) return r.size;
  return 0;
}
DType dtype_from_name(const std::string& name, const std::string& context) {
  for (const auto& r : kDTypes)
    if (name == r.name) return r.d;
  fail("{}: unsupported dtype '{}'", context, name);
}

int64_t SafeTensorInfo::numel() const {  // the reader checked that it fits
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}
std::string SafeTensorInfo::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

SafeTensorsReader::SafeTensorsReader(const std::string& path) : file_(path) {
  const size_t size = file_.size();
  CF_CHECK(size >= 8, "{}: not a safetensors file (only {} bytes)", path, size);
  uint64_t header_len = 0;
  std::memcpy(&header_len, file_.data(), 8);
  CF_CHECK(header_len <= kMaxHeader && 8 + header_len <= size,
           "{}: truncated or corrupted safetensors header (header length {}, file size {})", path, header_len,
           size);
  json header;
  try {
    header = parse_json({reinterpret_cast<const char*>(file_.data()) + 8, header_len}, path + ": safetensors header");
  } catch (const json::exception& e) {
    fail("{}: corrupted safetensors header: {}", path, e.what());
  }
  CF_CHECK(header.is_object(), "{}: safetensors header is not a JSON object", path);
  const uint8_t* base = file_.data() + 8 + header_len;
  const size_t data_size = size - 8 - header_len;
  struct Span {
    uint64_t begin, end;
    std::string name;
    bool operator<(const Span& o) const { return std::tie(begin, end, name) < std::tie(o.begin, o.end, o.name); }
  };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it.value().is_object())
        for (auto m = it.value().begin(); m != it.value().end(); ++m)
          if (m.value().is_string()) metadata_[m.key()] = m.value().get<std::string>();
      continue;
    }
    const std::string ctx = fmt::format("{}: tensor '{}'", path, it.key());
    const json& t = it.value();
    CF_CHECK(t.is_object() && t.contains("dtype") && t.contains("shape") && t.contains("data_offsets"),
             "{}: missing dtype/shape/data_offsets", ctx);
    SafeTensorInfo info;
    info.name = it.key();
    CF_CHECK(t["dtype"].is_string(), "{}: dtype is not a string", ctx);
    info.dtype = dtype_from_name(t["dtype"].get<std::string>(), ctx);
    CF_CHECK(t["shape"].is_array(), "{}: shape is not an array", ctx);
    for (const auto& d : t["shape"]) {
      CF_CHECK(d.is_number_integer() &&
                   (d.is_number_unsigned() ? d.get<uint64_t>() <= INT64_MAX : d.get<int64_t>() >= 0),
               "{}: shape entries must be integers in 0..2^63-1", ctx);
      info.shape.push_back(d.get<int64_t>());
    }
    const json& off = t["data_offsets"];
    CF_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
             "{}: bad data_offsets", ctx);
    const uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    CF_CHECK(b <= e, "{}: data_offsets [{}, {}] end before they begin", ctx, b, e);
    CF_CHECK(e <= data_size, "{}: data_offsets [{}, {}] beyond the file's {} data bytes (truncated?)", ctx, b, e,
             data_size);
    info.nbytes = e - b;
    uint64_t want = dtype_size(info.dtype);
    for (int64_t d : info.shape)
      CF_CHECK(!__builtin_mul_overflow(want, static_cast<uint64_t>(d), &want), "{}: shape {} is too large", ctx,
               info.shape_str());
    CF_CHECK(want == info.nbytes, "{}: {} bytes do not hold shape {} of {}", ctx, info.nbytes, info.shape_str(),
             dtype_name(info.dtype));
    info.data = base + b;
    spans.push_back({b, e, info.name});
    tensors_[info.name] = std::move(info);
  }
  // The format's rule (as the reference implementation checks it): the tensors tile the
  // data section exactly, in some order, without overlaps or gaps. Overlapping tensors
  // would alias each other's bytes; a gap or a tail means the header and data disagree.
  std::sort(spans.begin(), spans.end());
  uint64_t at = 0;
  const Span* prev = nullptr;
  for (const Span& sp : spans) {
    if (sp.begin < at)
      fail("{}: tensor '{}' data_offsets [{}, {}] overlap tensor '{}' [{}, {}]", path, sp.name, sp.begin, sp.end,
           prev->name, prev->begin, prev->end);
    if (sp.begin > at)
      fail("{}: tensor '{}' data_offsets [{}, {}] leave a gap of {} bytes after {} (corrupted header?)", path, sp.name,
           sp.begin, sp.end, sp.begin - at, prev ? fmt::format("tensor '{}'", prev->name) : "the header");
    at = sp.end;
    prev = &sp;
  }
  CF_CHECK(at == data_size, "{}: {} bytes after the last tensor's data (the header lists {} of {} data bytes)", path,
           data_size - at, at, data_size);
}

const SafeTensorInfo& SafeTensorsReader::get(const std::string& name) const {
  auto it = tensors_.find(name);
  CF_CHECK(it != tensors_.end(), "{}: missing tensor '{}'", path(), name);
  return it->second;
}

void SafeTensorsReader::read_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
                                 float* dst) const {
  const SafeTensorInfo& t = get(name);
  if (t.shape != expected_shape) {
    SafeTensorInfo want;
    want.shape = expected_shape;
    fail("{}: tensor '{}' has shape {}, expected {}", path(), name, t.shape_str(), want.shape_str());
  }
  const int64_t n = t.numel();
  if (n == 0) return;  // an empty tensor: nothing to copy (dst may be null)
  switch (t.dtype) {
    case DType::F32: std::memcpy(dst, t.data, n * 4); break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        dst[i] = half_to_float(h);
      }
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        dst[i] = bf16_to_float(h);
      }
      break;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, t.data + 8 * i, 8);
        dst[i] = static_cast<float>(v);
      }
      break;
    default: fail("{}: tensor '{}' has dtype {}, expected a float type", path(), name, dtype_name(t.dtype));
  }
  // One pass over what was just written (still in cache for small tensors): NaN weights
  // would otherwise surface much later as "every token has zero probability".
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(dst[i]))
      fail("{}: tensor '{}' holds a non-finite value ({}) at element {}: the weights are corrupt (a diverged or "
           "damaged checkpoint)", path(), name, dst[i], i);
}

void SafeTensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data) {
  for (const auto& e : entries_) CF_CHECK(e.name != name, "safetensors: duplicate tensor name '{}'", name);
  entries_.push_back({name, dtype, std::move(shape), data});
}

void SafeTensorsWriter::write(const std::string& path) const {
  // ordered_json keeps insertion order so the header lists tensors in file order.
  nlohmann::ordered_json header;
  if (!metadata_.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const auto& e : entries_) {
    uint64_t n = dtype_size(e.dtype);
    for (int64_t d : e.shape) n *= static_cast<uint64_t>(d);
    header[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
    sizes.push_back(n);
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // align the data to 8 bytes
  const uint64_t hlen = h.size();
  AtomicFile f(path);
  f.write(&hlen, 8);
  f.write(h);
  for (size_t i = 0; i < entries_.size(); ++i) f.write(entries_[i].data, sizes[i]);
  f.commit();
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0);  // inf/nan
  if (absx >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: overflow to inf
  if (absx < 0x38800000u) {                          // below the smallest normal half: subnormal
    if (absx < 0x33000000u) return sign;             // < 2^-25 rounds to zero
    const uint32_t e = absx >> 23;
    const uint32_t m = (absx & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(e);     // 14..24
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return sign | static_cast<uint16_t>(r);
  }
  uint32_t r = absx - 0x38000000u;  // rebias exponent 127 -> 15
  const uint32_t rem = r & 0x1fffu;
  r >>= 13;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return sign | static_cast<uint16_t>(r);
}

float bf16_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace chatforge
