// Fuzz target: a safetensors file (8-byte header length, JSON header, tensor bytes) read
// by SafeTensorsReader, then every tensor converted to float32 as model loading does.
#include <vector>

#include "core/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  const std::string path = fuzz::write_scratch("model.safetensors", fuzz::as_view(data, size));
  fuzz::expect_clean([&] {
    const SafeTensorsReader r(path);
    std::vector<float> buf;
    for (const auto& [name, info] : r.tensors()) {
      (void)info.shape_str();
      // The reader checked that the tensor's bytes lie in the file, so its size is bounded
      // by the input's; the harness still caps the float copy.
      if (info.numel() < 0 || info.numel() > (int64_t{1} << 22)) std::abort();
      buf.resize(static_cast<size_t>(info.numel()));
      r.read_f32(name, info.shape, buf.data());
    }
    (void)r.metadata();
    (void)r.get("missing tensor");
  });
  return 0;
}
