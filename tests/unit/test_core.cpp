// Core: RNG determinism and state round trip, atomic writes, memory maps, safetensors
// round trips and corruption errors, half/bf16 conversions, paths compared resolved.
#include <gtest/gtest.h>

#include "test_util.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/rng.h"
#include "core/safetensors.h"

using namespace chatforge;
using chatforge::testing::temp_dir;
namespace fs = std::filesystem;


TEST(Rng, SameSeedSameStreamAndStateRestores) {
  Rng a(42), b(42);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next_u64(), b.next_u64());
  a.normal();
  const auto st = a.state();
  std::vector<double> first;
  for (int i = 0; i < 10; ++i) first.push_back(a.normal());
  a.set_state(st);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(first[i], a.normal());
  Rng c(43);
  EXPECT_NE(Rng(42).next_u64(), c.next_u64());
}

TEST(Rng, NormalHasUnitMomentsAndBelowIsInRange) {
  Rng r(7);
  double s = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.01);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(r.below(7), 7u);
}

TEST(FileIo, AtomicWriteReplacesAndLeavesNoTemp) {
  const std::string d = temp_dir("atomic");
  const std::string p = d + "/f.txt";
  write_file_atomic(p, "one");
  write_file_atomic(p, "two");
  EXPECT_EQ(read_file(p), "two");
  int files = 0;
  for (auto& e : fs::directory_iterator(d)) (void)e, ++files;
  EXPECT_EQ(files, 1);
  {
    AtomicFile f(d + "/g.txt");
    f.write("partial");
    // no commit: destructor must remove the temp file and never create g.txt
  }
  EXPECT_FALSE(file_exists(d + "/g.txt"));
  files = 0;
  for (auto& e : fs::directory_iterator(d)) (void)e, ++files;
  EXPECT_EQ(files, 1);
  MappedFile m(p);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(std::memcmp(m.data(), "two", 3), 0);
  fs::remove_all(d);
}

TEST(FileIo, MissingFileErrorNamesThePath) {
  try {
    read_file("/nonexistent/dir/x.bin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/x.bin"), std::string::npos);
  }
  EXPECT_THROW(MappedFile("/nonexistent/y"), Error);
}

// One directory however it is spelled: relative, with `.`, `..`, a trailing separator or
// through a link; the guards of `train --overwrite` and `data augment` go by this.
TEST(FileIo, PathsAreComparedResolved) {
  const std::string d = temp_dir("resolved");
  fs::create_directories(d + "/runs/a");
  fs::create_directory_symlink(d + "/runs/a", d + "/link");
  const std::string a = resolved_path(d + "/runs/a");
  for (const std::string& p : {d + "/runs/a/", d + "/runs/./a", d + "/runs/b/../a", d + "/link", d + "/link/"})
    EXPECT_EQ(resolved_path(p), a) << p;
  const std::string cwd = fs::current_path().string();
  fs::current_path(d + "/runs");
  EXPECT_EQ(resolved_path("a"), a);
  EXPECT_EQ(resolved_path("./a/"), a);
  fs::current_path(cwd);
  EXPECT_TRUE(path_within(d + "/link/step_1/model.safetensors", d + "/runs/a"));  // need not exist
  EXPECT_TRUE(path_within(d + "/runs/a", d + "/link/"));
  EXPECT_FALSE(path_within(d + "/runs/ab", d + "/runs/a"));  // a prefix of the name is not inside
  EXPECT_FALSE(path_within(d + "/runs", d + "/runs/a"));
  EXPECT_TRUE(path_within(d, "/"));
  fs::remove_all(d);
}

TEST(SafeTensors, RoundTripIsBitExact) {
  const std::string d = temp_dir("st");
  std::vector<float> a(12);
  for (int i = 0; i < 12; ++i) a[i] = std::sin(i * 1.7f) * 1e3f;
  std::vector<int32_t> ids = {1, -2, 3};
  SafeTensorsWriter w;
  w.add_f32("a.weight", {3, 4}, a.data());
  w.add("ids", DType::I32, {3}, ids.data());
  w.set_metadata("format", "pt");
  w.write(d + "/m.safetensors");
  SafeTensorsReader r(d + "/m.safetensors");
  EXPECT_EQ(r.metadata().at("format"), "pt");
  std::vector<float> back(12);
  r.read_f32("a.weight", {3, 4}, back.data());
  EXPECT_EQ(std::memcmp(back.data(), a.data(), 48), 0);
  EXPECT_EQ(r.get("ids").dtype, DType::I32);
  EXPECT_THROW(r.read_f32("a.weight", {4, 3}, back.data()), Error);
  EXPECT_THROW(r.get("missing"), Error);
  fs::remove_all(d);
}

TEST(SafeTensors, TruncatedOrCorruptFilesAreClearErrors) {
  const std::string d = temp_dir("stbad");
  std::vector<float> a(256, 1.0f);
  SafeTensorsWriter w;
  w.add_f32("x", {256}, a.data());
  w.write(d + "/ok.safetensors");
  const std::string good = read_file(d + "/ok.safetensors");
  // Every truncation point must give an Error, never a crash.
  for (size_t cut : {size_t(0), size_t(4), size_t(8), size_t(20), good.size() / 2, good.size() - 1}) {
    write_file_atomic(d + "/bad.safetensors", good.substr(0, cut));
    EXPECT_THROW(SafeTensorsReader(d + "/bad.safetensors"), Error) << "cut at " << cut;
  }
  std::string corrupt = good;
  corrupt[8] = '#';  // the header's opening brace
  write_file_atomic(d + "/bad.safetensors", corrupt);
  EXPECT_THROW(SafeTensorsReader(d + "/bad.safetensors"), Error);
  fs::remove_all(d);
}

TEST(SafeTensors, HalfAndBf16Conversions) {
  for (float x : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f}) {
    EXPECT_EQ(half_to_float(float_to_half(x)), x) << x;
  }
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(70000.0f), 0x7c00);  // overflow -> inf
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.5f)), 1.5f);
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  // round to nearest even: 1 + 2^-8 is halfway between two bf16 values -> rounds to 1.
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(NAN))));
}
