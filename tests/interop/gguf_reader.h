// A GGUF v3 reader for the tests, written from the format's spec independently of the
// writer: header ("GGUF", version 3, tensor and key-value counts), typed key-values (every
// scalar type, strings, arrays of them), tensor infos (name, ne in ggml order, ggml type,
// offset) and the data section at the next multiple of general.alignment (32 by default).
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/file_io.h"

namespace chatforge::interop::testing {

struct GgufValue {
  uint32_t type = 0;               // GGUF value type (4 u32, 6 f32, 7 bool, 8 string, 9 array ...)
  uint32_t elem_type = 0;          // arrays: the element type
  int64_t i = 0;                   // integers and bools
  double f = 0;                    // floats
  std::string s;                   // strings
  std::vector<std::string> strs;   // arrays of strings
  std::vector<int64_t> ints;       // arrays of integers
};

struct GgufTensorInfo {
  std::vector<uint64_t> ne;
  uint32_t type = 0;
  uint64_t offset = 0;
};

struct GgufFile {
  std::map<std::string, GgufValue> kv;
  std::map<std::string, GgufTensorInfo> tensors;
  std::vector<std::string> tensor_order;
  std::string bytes;
  size_t data_start = 0;

  bool has(const std::string& k) const { return kv.count(k) > 0; }
  const GgufValue& at(const std::string& k) const {
    const auto it = kv.find(k);
    if (it == kv.end()) ADD_FAILURE() << "no key " << k;
    static const GgufValue none;
    return it == kv.end() ? none : it->second;
  }
  const uint8_t* data(const std::string& tensor) const {
    return reinterpret_cast<const uint8_t*>(bytes.data() + data_start + tensors.at(tensor).offset);
  }
  std::vector<float> f32(const std::string& tensor) const {  // an F32 tensor's values
    const auto& t = tensors.at(tensor);
    EXPECT_EQ(t.type, 0u) << tensor;
    uint64_t n = 1;
    for (uint64_t d : t.ne) n *= d;
    std::vector<float> out(n);
    std::memcpy(out.data(), data(tensor), n * 4);
    return out;
  }
};

class GgufParser {
 public:
  explicit GgufParser(std::string bytes) { f_.bytes = std::move(bytes); }
  GgufFile parse() {
    EXPECT_EQ(f_.bytes.substr(0, 4), "GGUF");
    pos_ = 4;
    EXPECT_EQ(get<uint32_t>(), 3u);
    const auto n_tensors = get<uint64_t>(), n_kv = get<uint64_t>();
    for (uint64_t k = 0; k < n_kv; ++k) {
      const std::string key = str();
      EXPECT_EQ(f_.kv.count(key), 0u) << "duplicate key " << key;
      f_.kv[key] = value(get<uint32_t>());
    }
    for (uint64_t t = 0; t < n_tensors; ++t) {
      const std::string name = str();
      GgufTensorInfo info;
      const auto dims = get<uint32_t>();
      for (uint32_t d = 0; d < dims; ++d) info.ne.push_back(get<uint64_t>());
      info.type = get<uint32_t>();
      info.offset = get<uint64_t>();
      f_.tensors[name] = info;
      f_.tensor_order.push_back(name);
    }
    const uint64_t align = f_.has("general.alignment") ? f_.kv["general.alignment"].i : 32;
    f_.data_start = (pos_ + align - 1) / align * align;
    return std::move(f_);
  }

 private:
  template <typename T>
  T get() {
    T v{};
    if (pos_ + sizeof(T) > f_.bytes.size()) {
      ADD_FAILURE() << "GGUF: read past the end";
      return v;
    }
    std::memcpy(&v, f_.bytes.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = get<uint64_t>();
    std::string out = f_.bytes.substr(pos_, n);
    pos_ += n;
    return out;
  }
  int64_t integer(uint32_t type) {
    switch (type) {
      case 0: return get<uint8_t>();
      case 1: return get<int8_t>();
      case 2: return get<uint16_t>();
      case 3: return get<int16_t>();
      case 4: return get<uint32_t>();
      case 5: return get<int32_t>();
      case 7: return get<uint8_t>();
      case 10: return static_cast<int64_t>(get<uint64_t>());
      case 11: return get<int64_t>();
      default: ADD_FAILURE() << "GGUF: not an integer type " << type; return 0;
    }
  }
  GgufValue value(uint32_t type) {
    GgufValue v;
    v.type = type;
    if (type == 6) v.f = get<float>();
    else if (type == 12) v.f = get<double>();
    else if (type == 8) v.s = str();
    else if (type == 9) {
      v.elem_type = get<uint32_t>();
      const auto n = get<uint64_t>();
      for (uint64_t k = 0; k < n; ++k) {
        if (v.elem_type == 8) v.strs.push_back(str());
        else v.ints.push_back(integer(v.elem_type));
      }
    } else {
      v.i = integer(type);
    }
    return v;
  }
  GgufFile f_;
  size_t pos_ = 0;
};

inline GgufFile read_gguf(const std::string& path) { return GgufParser(read_file(path)).parse(); }

}  // namespace chatforge::interop::testing
