// GGUF writer and staged outputs: the file layout is read back with an independent
// little parser written here from the GGUF v3 spec (header, typed key-values, tensor
// infos, 32-byte aligned data), Q8_0 and Q4_0 blocks are checked against the format's
// formulas, llama.cpp's q/k row permutation against its definition (a rotate-half rotation
// of HF rows equals llama.cpp's interleaved rotation of the permuted rows) and its inverse,
// and a staged directory is all-or-nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/file_io.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "interop/gguf_layout.h"
#include "interop/gguf_writer.h"
#include "interop/staged_output.h"
#include "test_util.h"

namespace chatforge::interop {
namespace {

using chatforge::testing::temp_dir;

namespace fs = std::filesystem;

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

TEST(Gguf, Q4_0BlocksFollowTheFormula) {
  // block 0: largest magnitude -4 (d = -4 / -8 = 0.5); block 1: largest +4 (d = -0.5);
  // block 2: all zero
  std::vector<float> x(96, 0.25f);
  x[0] = -4, x[1] = 0, x[2] = 1.2f, x[3] = 3.9f, x[16] = 2.0f;
  x[32] = 4, x[33] = -1;
  for (int j = 64; j < 96; ++j) x[j] = 0;
  const auto q = ggml_encode(GgmlType::Q4_0, x.data(), x.size());
  ASSERT_EQ(q.size(), 3u * 18u);
  ASSERT_EQ(ggml_row_bytes(GgmlType::Q4_0, 96), 54u);
  auto scale = [&](int b) {
    uint16_t dh;
    std::memcpy(&dh, q.data() + 18 * b, 2);
    return half_to_float(dh);
  };
  auto nibble = [&](int b, int j) {  // value j of block b: low nibbles 0..15, high 16..31
    const uint8_t byte = q[18 * b + 2 + (j % 16)];
    return j < 16 ? byte & 15 : byte >> 4;
  };
  EXPECT_EQ(scale(0), 0.5f);
  EXPECT_EQ(nibble(0, 0), 0);    // -4 / 0.5 + 8.5 = 0.5 -> 0
  EXPECT_EQ(nibble(0, 1), 8);    // 0 -> 8
  EXPECT_EQ(nibble(0, 2), 10);   // 1.2 / 0.5 + 8.5 = 10.9 -> 10
  EXPECT_EQ(nibble(0, 3), 15);   // 16.3 clamped to 15
  EXPECT_EQ(nibble(0, 16), 12);  // 2.0: the high nibble of byte 0
  EXPECT_EQ(q[2], 0xC0);
  EXPECT_EQ(scale(1), -0.5f);
  EXPECT_EQ(nibble(1, 0), 0);    // +4 -> (0 - 8) * -0.5 = 4 exactly
  EXPECT_EQ(nibble(1, 1), 10);   // -1 / -0.5 + 8.5 = 10.5 -> 10
  for (int b = 0; b < 2; ++b)
    for (int j = 0; j < 32; ++j) {  // dequantized within one step (half a step unless clamped)
      const float back = static_cast<float>(nibble(b, j) - 8) * scale(b);
      EXPECT_LE(std::fabs(back - x[32 * b + j]), (b == 0 && j == 3 ? 1.0f : 0.5f) * std::fabs(scale(b)) + 1e-6f)
          << b << " " << j;
    }
  EXPECT_EQ(scale(2), 0.0f);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(nibble(2, j), 8);
  EXPECT_THROW(ggml_encode(GgmlType::Q4_0, x.data(), 48), Error);
}

// Rows of one column holding their own index, so a permutation reads off directly.
std::vector<float> iota_rows(int64_t rows, int64_t cols) {
  std::vector<float> v(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) v[r * cols + c] = static_cast<float>(100 * r + c);
  return v;
}

TEST(GgufRope, PermutationExamplesAndInverse) {
  std::vector<float> out(6);
  const auto hs4 = iota_rows(4, 1);
  gguf_rope_permute(hs4.data(), out.data(), 4, 1, 1);
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 4), (std::vector<float>{0, 200, 100, 300}));  // a c b d
  const auto hs6 = iota_rows(6, 1);
  gguf_rope_permute(hs6.data(), out.data(), 6, 1, 1);
  EXPECT_EQ(out, (std::vector<float>{0, 300, 100, 400, 200, 500}));  // a d b e c f
  // three heads of 8 rows, 5 columns: each head permuted on its own; the inverse restores it
  const auto x = iota_rows(24, 5);
  std::vector<float> p(x.size()), back(x.size());
  gguf_rope_permute(x.data(), p.data(), 24, 5, 3);
  EXPECT_EQ(p[(8 + 1) * 5 + 2], x[(8 + 4) * 5 + 2]);  // head 1, row 2*0+1 <- row 1*4+0
  EXPECT_EQ(p[(16 + 6) * 5 + 4], x[(16 + 3) * 5 + 4]);  // head 2, row 2*3+0 <- row 0*4+3
  EXPECT_NE(p, x);
  gguf_rope_unpermute(p.data(), back.data(), 24, 5, 3);
  EXPECT_EQ(back, x);
  EXPECT_THROW(gguf_rope_permute(x.data(), p.data(), 24, 5, 5), Error);  // 24 rows are not 5 heads
  EXPECT_THROW(gguf_rope_permute(x.data(), p.data(), 9, 5, 3), Error);   // odd head size
}

TEST(GgufRope, InterleavedRotationOfPermutedRowsEqualsRotateHalf) {
  // Hugging Face rotates (x[i], x[i + HS/2]) by angle t_i; llama.cpp's LLAMA rope rotates
  // (x[2i], x[2i+1]). Rotating then permuting must equal permuting then rotating, so the
  // q.k scores llama.cpp computes from permuted weight rows equal transformers'.
  const int heads = 2, hs = 8, half = hs / 2;
  Rng rng(11);
  std::vector<float> x(heads * hs), angle(half);
  for (float& v : x) v = rng.normal();
  for (int i = 0; i < half; ++i) angle[i] = 0.7f * (i + 1);
  auto rotate_half = [&](std::vector<float> v) {
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        float& a = v[h * hs + i];
        float& b = v[h * hs + i + half];
        const float c = std::cos(angle[i]), s = std::sin(angle[i]), a0 = a;
        a = a0 * c - b * s, b = b * c + a0 * s;
      }
    return v;
  };
  auto rotate_pairs = [&](std::vector<float> v) {
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        float& a = v[h * hs + 2 * i];
        float& b = v[h * hs + 2 * i + 1];
        const float c = std::cos(angle[i]), s = std::sin(angle[i]), a0 = a;
        a = a0 * c - b * s, b = b * c + a0 * s;
      }
    return v;
  };
  auto permute = [&](const std::vector<float>& v) {
    std::vector<float> out(v.size());
    gguf_rope_permute(v.data(), out.data(), heads * hs, 1, heads);
    return out;
  };
  EXPECT_EQ(permute(rotate_half(x)), rotate_pairs(permute(x)));
  EXPECT_NE(rotate_half(x), rotate_pairs(x));  // the layouts do differ
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
