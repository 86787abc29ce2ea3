// GGUF v3 files (the llama.cpp / ollama model format): a header, typed metadata
// key-values, tensor infos (ggml dimension order: ne[0] varies fastest, the reverse of
// a row-major shape) and the tensor data aligned to 32 bytes. Written atomically.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace chatforge::interop {

enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8 };
const char* ggml_type_name(GgmlType t);

// Bytes of `n` values of type t (n must be a multiple of 32 for Q8_0 and Q4_0).
size_t ggml_row_bytes(GgmlType t, uint64_t n);
bool ggml_is_quantized(GgmlType t);  // Q8_0, Q4_0: blocks of 32 along a row
// Encodes float data as type t, as ggml's reference quantizers do: F32 copies, F16
// rounds; Q8_0 writes blocks of 32 values as one fp16 scale d = max|x| / 127 and 32 int8
// round(x / d); Q4_0 writes blocks of 32 as one fp16 scale d = m / -8 (m: the value of
// largest magnitude, sign kept) and 16 bytes of 4-bit q = min(15, trunc(x / d + 8.5)),
// value j in the low nibble of byte j and value j + 16 in its high nibble (x = (q - 8) d).
// Example (Q4_0): a block whose largest-magnitude value is -4 has d = 0.5, so -4 -> q 0,
// 0 -> 8, 1.2 -> 10 (trunc 10.9: 1.0 back), 3.9 -> 15 (16.3 clamped: 3.5 back).
std::vector<uint8_t> ggml_encode(GgmlType t, const float* data, uint64_t n);

class GgufWriter {
 public:
  static constexpr uint32_t kAlignment = 32;
  void add_u32(const std::string& key, uint32_t v);
  void add_f32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_string_array(const std::string& key, const std::vector<std::string>& v);
  void add_i32_array(const std::string& key, const std::vector<int32_t>& v);
  // `ne` in ggml order (ne[0] = row length); `data` already encoded as `type`.
  void add_tensor(const std::string& name, std::vector<uint64_t> ne, GgmlType type, std::vector<uint8_t> data);
  void write(const std::string& path) const;  // atomic

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    GgmlType type;
    std::vector<uint8_t> data;
  };
  void key(const std::string& k, uint32_t type);
  std::string kv_;  // serialized key-values
  uint64_t kv_count_ = 0;
  std::vector<Tensor> tensors_;
};

}  // namespace chatforge::interop
