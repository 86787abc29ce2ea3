// safetensors files (Hugging Face): 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then
// the raw little-endian tensor bytes. Reading validates every offset against the file
// size and requires the tensors to tile the data exactly (no overlap, gap or tail, as the
// format demands), so a truncated or corrupted file is a clear error, never a crash or
// two tensors sharing bytes. The file must be a regular file (a FIFO is an error).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/file_io.h"

namespace chatforge {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };

const char* dtype_name(DType d);   // "F32", ...
size_t dtype_size(DType d);        // bytes per element
DType dtype_from_name(const std::string& name, const std::string& context);

struct SafeTensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // into the mapping
  size_t nbytes = 0;
  int64_t numel() const;
  std::string shape_str() const;
};

class SafeTensorsReader {
 public:
  explicit SafeTensorsReader(const std::string& path);
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws naming the file and tensor when it is missing.
  const SafeTensorInfo& get(const std::string& name) const;
  const std::map<std::string, SafeTensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return file_.path(); }

  // Copies tensor `name` into dst as float32 (converting F16/BF16/F64), after checking
  // it has exactly `expected_shape`. A NaN or Inf in it is an error naming the file, the
  // tensor and the element: weights and optimizer moments are always finite.
  void read_f32(const std::string& name, const std::vector<int64_t>& expected_shape, float* dst) const;

 private:
  MappedFile file_;
  std::map<std::string, SafeTensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Collects tensors and writes them in one atomic file. Data pointers must stay valid
// until write() returns. Tensors are laid out in insertion order.
class SafeTensorsWriter {
 public:
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data);
  void add_f32(const std::string& name, std::vector<int64_t> shape, const float* data) {
    add(name, DType::F32, std::move(shape), data);
  }
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  void write(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const void* data;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// float <-> half / bfloat16 conversions (round to nearest even).
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bf16_to_float(uint16_t b);
uint16_t float_to_bf16(float f);

}  // namespace chatforge
