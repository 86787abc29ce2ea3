// Files that are not what they claim: a FIFO, directory or device where a file is read
// (one-line error, never a hang), safetensors headers whose data_offsets overlap, leave
// gaps or point past the file, NaN/Inf weights, stale temp files of killed runs, and the
// numeric ranges every flag is checked against.
#include <gtest/gtest.h>

#include "test_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <future>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/num_range.h"
#include "core/safetensors.h"
#include "data/shard.h"

using namespace chatforge;
using chatforge::testing::error_of;
using chatforge::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

bool includes_text(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Runs f on a thread; a call that blocks (the bug this guards against) is released by
// opening the FIFO for writing, and the test fails instead of hanging.
std::string error_within_seconds(const std::function<void()>& f, const std::string& fifo) {
  auto fut = std::async(std::launch::async, [&] { return error_of(f); });
  if (fut.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    ADD_FAILURE() << "reading " << fifo << " blocked";
  }
  return fut.get();
}

// A safetensors file with this header (tensors as given) and `data_bytes` zero bytes.
void write_raw_safetensors(const std::string& path, const nlohmann::json& header, size_t data_bytes) {
  std::string h = header.dump();
  const uint64_t n = h.size();
  std::string file(8, '\0');
  std::memcpy(file.data(), &n, 8);
  file += h;
  file.append(data_bytes, '\0');
  write_file_atomic(path, file);
}

nlohmann::json f32_tensor(std::vector<int64_t> shape, uint64_t begin, uint64_t end) {
  return {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, end}}};
}

// A PID that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t p = ::fork();
  if (p == 0) ::_exit(0);
  ::waitpid(p, nullptr, 0);
  return p;
}

}  // namespace

TEST(FileSafety, FifoDirectoryAndDeviceAreOneLineErrorsNotHangs) {
  const std::string d = temp_dir("fifo");
  const std::string fifo = d + "/model.safetensors";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  std::string msg = error_within_seconds([&] { read_file(fifo); }, fifo);
  EXPECT_TRUE(includes_text(msg, fifo) && includes_text(msg, "FIFO") && includes_text(msg, "regular file")) << msg;
  msg = error_within_seconds([&] { MappedFile m(fifo); }, fifo);
  EXPECT_TRUE(includes_text(msg, fifo) && includes_text(msg, "FIFO")) << msg;
  msg = error_within_seconds([&] { SafeTensorsReader r(fifo); }, fifo);
  EXPECT_TRUE(includes_text(msg, fifo) && includes_text(msg, "FIFO")) << msg;
  const std::string shard = d + "/train_000000.bin";  // token shards are memory-mapped too
  ASSERT_EQ(::mkfifo(shard.c_str(), 0644), 0);
  msg = error_within_seconds([&] { data::ShardReader r(shard); }, shard);
  EXPECT_TRUE(includes_text(msg, shard) && includes_text(msg, "FIFO")) << msg;
  // a directory and a device
  msg = error_of([&] { read_file(d); });
  EXPECT_TRUE(includes_text(msg, d) && includes_text(msg, "is a directory")) << msg;
  msg = error_of([&] { MappedFile m(d); });
  EXPECT_TRUE(includes_text(msg, "is a directory")) << msg;
  msg = error_of([&] { read_file("/dev/null"); });
  EXPECT_TRUE(includes_text(msg, "/dev/null is a character device")) << msg;
  msg = error_of([&] { require_regular_file(fifo); });
  EXPECT_TRUE(includes_text(msg, "FIFO")) << msg;
  // regular files (and links to them) still read
  write_file_atomic(d + "/a.txt", "hello");
  fs::create_symlink(d + "/a.txt", d + "/link.txt");
  EXPECT_EQ(read_file(d + "/link.txt"), "hello");
  EXPECT_EQ(MappedFile(d + "/a.txt").size(), 5u);
  fs::remove_all(d);
}

TEST(FileSafety, SafetensorsOffsetsMustTileTheDataExactly) {
  const std::string d = temp_dir("st_offsets");
  const std::string p = d + "/w.safetensors";
  auto err = [&](const nlohmann::json& h, size_t bytes) {
    write_raw_safetensors(p, h, bytes);
    return error_of([&] { SafeTensorsReader r(p); });
  };
  // overlapping: b's bytes are a's last 8 bytes (each alone fits the file and its shape)
  std::string m = err({{"a", f32_tensor({4}, 0, 16)}, {"b", f32_tensor({4}, 8, 24)}}, 24);
  EXPECT_TRUE(includes_text(m, p) && includes_text(m, "'b'") && includes_text(m, "overlap") && includes_text(m, "'a'")) << m;
  // the same tensor listed twice over the same bytes
  m = err({{"a", f32_tensor({2}, 0, 8)}, {"b", f32_tensor({2}, 0, 8)}}, 8);
  EXPECT_TRUE(includes_text(m, "overlap")) << m;
  // a gap between tensors, a tail after the last, offsets past the file, end before begin
  m = err({{"a", f32_tensor({2}, 0, 8)}, {"b", f32_tensor({2}, 16, 24)}}, 24);
  EXPECT_TRUE(includes_text(m, "'b'") && includes_text(m, "gap of 8 bytes")) << m;
  m = err({{"a", f32_tensor({2}, 0, 8)}}, 16);
  EXPECT_TRUE(includes_text(m, p) && includes_text(m, "8 bytes after the last tensor")) << m;
  m = err({{"a", f32_tensor({2}, 0, 8)}, {"b", f32_tensor({4}, 8, 24)}}, 16);
  EXPECT_TRUE(includes_text(m, "'b'") && includes_text(m, "beyond the file's 16 data bytes")) << m;
  m = err({{"a", f32_tensor({0}, 8, 0)}}, 8);
  EXPECT_TRUE(includes_text(m, "'a'") && includes_text(m, "end before they begin")) << m;
  // a shape whose byte count overflows 64 bits
  m = err({{"a", f32_tensor({int64_t{1} << 62, 4}, 0, 0)}}, 0);
  EXPECT_TRUE(includes_text(m, "'a'") && includes_text(m, "too large")) << m;
  // valid: out of header order, zero-size tensors between others
  write_raw_safetensors(p, {{"z", f32_tensor({2}, 0, 8)}, {"a", f32_tensor({1}, 8, 12)}, {"e", f32_tensor({0}, 8, 8)}},
                        12);
  SafeTensorsReader r(p);
  EXPECT_EQ(r.tensors().size(), 3u);
  EXPECT_EQ(r.get("a").data, r.get("z").data + 8);
  fs::remove_all(d);
}

TEST(FileSafety, NonFiniteValuesAreErrorsNamingFileTensorAndElement) {
  const std::string d = temp_dir("st_nan");
  std::vector<float> a = {1, 2, 3, 4};
  a[2] = std::numeric_limits<float>::quiet_NaN();
  std::vector<uint16_t> b = {float_to_bf16(1.0f), float_to_bf16(INFINITY)};
  SafeTensorsWriter w;
  w.add_f32("h.0.attn.weight", {2, 2}, a.data());
  w.add("wte.weight", DType::BF16, {2}, b.data());
  w.write(d + "/m.safetensors");
  SafeTensorsReader r(d + "/m.safetensors");
  std::vector<float> out(4);
  std::string m = error_of([&] { r.read_f32("h.0.attn.weight", {2, 2}, out.data()); });
  EXPECT_TRUE(includes_text(m, d + "/m.safetensors") && includes_text(m, "'h.0.attn.weight'") && includes_text(m, "non-finite") &&
              includes_text(m, "element 2"))
      << m;
  m = error_of([&] { r.read_f32("wte.weight", {2}, out.data()); });
  EXPECT_TRUE(includes_text(m, "'wte.weight'") && includes_text(m, "inf") && includes_text(m, "element 1")) << m;
  fs::remove_all(d);
}

TEST(FileSafety, StaleTempsOfDeadProcessesAreRemovedOthersKept) {
  const std::string d = temp_dir("stale");
  const std::string dead = std::to_string(dead_pid());
  const std::string live = std::to_string(::getppid());
  const std::string own = std::to_string(::getpid());
  const std::vector<std::string> stale_files = {"report.html.tmp." + dead + ".0123abcd", ".last.tmp." + dead,
                                                ".clean-spool." + dead + ".tmp", "train_000000.bin.tmp." + dead + ".ffffffff"};
  const std::vector<std::string> stale_dirs = {".tmp-step_0000003-" + dead, ".hf_out.tmp-" + dead};
  const std::vector<std::string> kept = {"metrics.jsonl.tmp." + live + ".0123abcd",  // its process runs
                                         "report.html", "notes.tmp", "x.tmp.123.zzzzzzzz", ".hidden",
                                         "step_0000003", "a.tmp.99999999999.0123abcd"};  // not a PID
  const std::string own_temp = ".best.tmp." + own;
  for (const auto& n : stale_files) write_file_atomic(d + "/" + n, "x");
  for (const auto& n : stale_dirs) {
    fs::create_directories(d + "/" + n);
    write_file_atomic(d + "/" + n + "/model.safetensors", "x");
  }
  for (const auto& n : kept) write_file_atomic(d + "/" + n, "x");
  write_file_atomic(d + "/" + own_temp, "x");

  std::vector<std::string> removed = remove_stale_temps(d);
  std::vector<std::string> want = stale_files;
  want.insert(want.end(), stale_dirs.begin(), stale_dirs.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(removed, want);
  for (const auto& n : kept) EXPECT_TRUE(fs::exists(d + "/" + n)) << n;
  EXPECT_TRUE(fs::exists(d + "/" + own_temp)) << "mid-run, this process's own temps are live";
  // at start-up this process has made no temps yet: one with its PID is a predecessor's
  EXPECT_EQ(remove_stale_temps(d, /*at_startup=*/true), std::vector<std::string>{own_temp});
  for (const auto& n : kept) EXPECT_TRUE(fs::exists(d + "/" + n)) << n;

  EXPECT_EQ(temp_name_pid("report.html.tmp.123.0123abcd"), 123);
  EXPECT_EQ(temp_name_pid(".tmp-step_0000010-77"), 77);
  EXPECT_EQ(temp_name_pid(".clean-spool.5.tmp"), 5);
  EXPECT_EQ(temp_name_pid("report.html"), -1);
  EXPECT_EQ(temp_name_pid(".tmp.12"), -1);  // no name before .tmp
  fs::remove_all(d);
}

TEST(FileSafety, MakeOutputDirRemovesWhatAKilledRunLeft) {
  const std::string d = temp_dir("outdir");
  const std::string dead = std::to_string(dead_pid());
  write_file_atomic(d + "/report.html.tmp." + dead + ".00c0ffee", "half a report");
  write_file_atomic(d + "/train.jsonl", "kept");
  make_output_dir(d);
  EXPECT_FALSE(fs::exists(d + "/report.html.tmp." + dead + ".00c0ffee"));
  EXPECT_TRUE(fs::exists(d + "/train.jsonl"));
  make_output_dir(d + "/new/sub");  // still creates
  EXPECT_TRUE(fs::is_directory(d + "/new/sub"));
  // one destination in a shared directory: only its own temps go
  write_file_atomic(d + "/m.gguf.tmp." + dead + ".0123abcd", "partial");
  fs::create_directories(d + "/.hf.tmp-" + dead);
  write_file_atomic(d + "/other.gguf.tmp." + dead + ".0123abcd", "someone else's");
  EXPECT_EQ(remove_stale_temps_of(d + "/m.gguf"), std::vector<std::string>{"m.gguf.tmp." + dead + ".0123abcd"});
  EXPECT_EQ(remove_stale_temps_of(d + "/hf"), std::vector<std::string>{".hf.tmp-" + dead});
  EXPECT_TRUE(fs::exists(d + "/other.gguf.tmp." + dead + ".0123abcd"));
  fs::remove_all(d);
}

TEST(NumRange, ClosedOpenInfiniteAndNonFinite) {
  const NumRange unit("[0, 1)");
  EXPECT_TRUE(unit.contains(0));
  EXPECT_TRUE(unit.contains(0.999));
  EXPECT_FALSE(unit.contains(1));
  EXPECT_FALSE(unit.contains(-1e-9));
  EXPECT_FALSE(unit.contains(NAN));
  const NumRange pos("(0, inf)");
  EXPECT_FALSE(pos.contains(0));
  EXPECT_TRUE(pos.contains(1e300));
  EXPECT_FALSE(pos.contains(INFINITY));  // never a non-finite value, whatever the ends
  const NumRange big("[1, 2^24]");
  EXPECT_TRUE(big.contains(16777216));
  EXPECT_FALSE(big.contains(16777217));
  EXPECT_TRUE(NumRange("[0, 2^64-1]").contains(18446744073709551615.0));
  EXPECT_EQ(unit.problem("0.5"), "");
  EXPECT_EQ(unit.problem("1"), "must be in [0, 1), got 1");
  EXPECT_EQ(unit.problem("nan"), "must be a finite number in [0, 1), got nan");
  EXPECT_EQ(unit.problem("0.5x"), "expected a number in [0, 1), got '0.5x'");
  const std::string m = error_of([&] { NumRange("[0, 1)").check("--beta2", 2.0); });
  EXPECT_EQ(m, "--beta2 must be in [0, 1), got 2");
  try {
    unit.check("--beta2", NAN);
    ADD_FAILURE() << "NaN accepted";
  } catch (const UsageError& e) {  // a usage error: exit 2
    EXPECT_TRUE(includes_text(e.what(), "--beta2 must be a finite number in [0, 1)")) << e.what();
  }
}
