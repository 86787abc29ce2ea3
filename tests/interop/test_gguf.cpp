// GGUF writer and staged outputs: the file layout is read back with an independent
// little parser written here from the GGUF v3 spec (header, typed key-values, tensor
// infos, 32-byte aligned data), Q8_0 blocks are checked against the format's formula,
// and a staged directory is all-or-nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "interop/gguf_writer.h"
#include "interop/staged_output.h"

namespace chatforge::interop {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  const std::string d = std::string(CF_BINARY_DIR) + "/test-tmp/interop/" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

struct Cursor {
  const std::string& s;
  size_t pos = 0;
  template <typename T>
  T get() {
    T v;
    EXPECT_LE(pos + sizeof(T), s.size());
    std::memcpy(&v, s.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = get<uint64_t>();
    std::string out = s.substr(pos, n);
    pos += n;
    return out;
  }
};

TEST(Gguf, Q8_0BlocksFollowTheFormula) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = (i < 32) ? (i - 16) * 0.5f : 0.0f;  // second block all zero
  const auto q = ggml_encode(GgmlType::Q8_0, x.data(), x.size());
  ASSERT_EQ(q.size(), 2u * 34u);
  uint16_t dh;
  std::memcpy(&dh, q.data(), 2);
  const float d = half_to_float(dh);
  EXPECT_NEAR(d, 8.0f / 127.0f, 1e-4);
  for (int j = 0; j < 32; ++j) {
    const int8_t v = static_cast<int8_t>(q[2 + j]);
    EXPECT_EQ(v, static_cast<int>(std::lround(x[j] * 127.0f / 8.0f))) << j;
    EXPECT_NEAR(v * d, x[j], d * 0.51f) << j;
  }
  std::memcpy(&dh, q.data() + 34, 2);
  EXPECT_EQ(half_to_float(dh), 0.0f);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(q[36 + j], 0);
  EXPECT_THROW(ggml_encode(GgmlType::Q8_0, x.data(), 33), Error);
}

TEST(Gguf, FileLayoutReadsBack) {
  const std::string dir = temp_dir("layout");
  GgufWriter w;
  w.add_string("general.architecture", "gpt2");
  w.add_u32("gpt2.block_count", 7);
  w.add_f32("gpt2.attention.layer_norm_epsilon", 1e-5f);
  w.add_string_array("tokenizer.ggml.tokens", {"a", "Ġb", "<|endoftext|>"});
  w.add_i32_array("tokenizer.ggml.token_type", {1, 1, 3});
  const std::vector<float> m = {1, 2, 3, 4, 5, 6};  // (2 rows, 3 cols)
  w.add_tensor("m.weight", {3, 2}, GgmlType::F32, ggml_encode(GgmlType::F32, m.data(), 6));
  w.add_tensor("h.weight", {3, 2}, GgmlType::F16, ggml_encode(GgmlType::F16, m.data(), 6));
  EXPECT_THROW(w.add_tensor("bad", {3, 2}, GgmlType::F32, std::vector<uint8_t>(5)), Error);
  w.write(dir + "/t.gguf");

  const std::string s = read_file(dir + "/t.gguf");
  Cursor c{s};
  EXPECT_EQ(s.substr(0, 4), "GGUF");
  c.pos = 4;
  EXPECT_EQ(c.get<uint32_t>(), 3u);
  EXPECT_EQ(c.get<uint64_t>(), 2u);  // tensors
  EXPECT_EQ(c.get<uint64_t>(), 5u);  // key-values
  EXPECT_EQ(c.str(), "general.architecture");
  EXPECT_EQ(c.get<uint32_t>(), 8u);  // string
  EXPECT_EQ(c.str(), "gpt2");
  EXPECT_EQ(c.str(), "gpt2.block_count");
  EXPECT_EQ(c.get<uint32_t>(), 4u);  // uint32
  EXPECT_EQ(c.get<uint32_t>(), 7u);
  EXPECT_EQ(c.str(), "gpt2.attention.layer_norm_epsilon");
  EXPECT_EQ(c.get<uint32_t>(), 6u);  // float32
  EXPECT_EQ(c.get<float>(), 1e-5f);
  EXPECT_EQ(c.str(), "tokenizer.ggml.tokens");
  EXPECT_EQ(c.get<uint32_t>(), 9u);  // array
  EXPECT_EQ(c.get<uint32_t>(), 8u);  // of strings
  EXPECT_EQ(c.get<uint64_t>(), 3u);
  EXPECT_EQ(c.str(), "a");
  EXPECT_EQ(c.str(), "Ġb");
  EXPECT_EQ(c.str(), "<|endoftext|>");
  EXPECT_EQ(c.str(), "tokenizer.ggml.token_type");
  EXPECT_EQ(c.get<uint32_t>(), 9u);
  EXPECT_EQ(c.get<uint32_t>(), 5u);  // of int32
  EXPECT_EQ(c.get<uint64_t>(), 3u);
  EXPECT_EQ(c.get<int32_t>(), 1);
  EXPECT_EQ(c.get<int32_t>(), 1);
  EXPECT_EQ(c.get<int32_t>(), 3);
  std::map<std::string, std::pair<uint32_t, uint64_t>> infos;  // type, offset
  for (int t = 0; t < 2; ++t) {
    const std::string name = c.str();
    ASSERT_EQ(c.get<uint32_t>(), 2u);
    EXPECT_EQ(c.get<uint64_t>(), 3u);  // ne[0]: the row length
    EXPECT_EQ(c.get<uint64_t>(), 2u);
    const uint32_t type = c.get<uint32_t>();
    infos[name] = {type, c.get<uint64_t>()};
  }
  const size_t data_start = (c.pos + 31) / 32 * 32;
  EXPECT_EQ(infos["m.weight"].first, 0u);
  EXPECT_EQ(infos["h.weight"].first, 1u);
  EXPECT_EQ(infos["m.weight"].second, 0u);
  EXPECT_EQ(infos["h.weight"].second, 32u);  // 24 bytes padded to the alignment
  float got[6];
  std::memcpy(got, s.data() + data_start, sizeof(got));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i], m[i]);
  uint16_t h[6];
  std::memcpy(h, s.data() + data_start + 32, sizeof(h));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(half_to_float(h[i]), m[i]);
  EXPECT_EQ(s.size(), data_start + 32 + 32);
}

TEST(StagedDir, AllOrNothing) {
  const std::string dir = temp_dir("staged");
  {
    StagedDir st(dir + "/out");
    write_file_atomic(st.path() + "/a.txt", "half");
    // destroyed without commit: as if the conversion had failed
  }
  EXPECT_FALSE(fs::exists(dir + "/out"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 0);
  {
    StagedDir st(dir + "/out");
    write_file_atomic(st.path() + "/a.txt", "whole");
    st.commit();
  }
  EXPECT_EQ(read_file(dir + "/out/a.txt"), "whole");
  EXPECT_THROW(StagedDir(dir + "/out"), Error);  // never overwrites a non-empty output
}

}  // namespace
}  // namespace chatforge::interop
