// `chatforge demo --serve/--chat` reuse a finished demo directory: the decision depends on
// the completion marker (present, absent, corrupt), the options that shaped the assistant
// (languages, seed, minutes, architecture, dtype, corpus) and the model still being there -- and on nothing else
// (host, port, --serve/--chat/--fresh). The demo itself is never run here.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/file_io.h"
#include "demo/demo_marker.h"
#include "test_util.h"

namespace chatforge::demo {
namespace {

namespace fs = std::filesystem;

// A directory that looks like a finished demo's output, without the marker.
DemoOptions finished_layout(const std::string& name) {
  DemoOptions o;
  o.out = testing::temp_dir("demo_marker_" + name);
  make_dirs(o.out + "/runs/sft/last");
  write_file_atomic(o.out + "/runs/sft/last/config.json", "{}");
  write_file_atomic(o.out + "/runs/sft/last/model.safetensors", "x");
  write_file_atomic(o.out + "/chat.toml", "model = \"runs/sft/last\"\n");
  return o;
}

TEST(DemoMarker, AbsentMarkerMeansRunTheDemo) {
  const DemoOptions o = finished_layout("absent");
  const ReuseDecision d = check_finished_demo(o);
  EXPECT_FALSE(d.reuse);
  EXPECT_NE(d.reason.find("demo-finished.json is missing"), std::string::npos) << d.reason;
  fs::remove_all(o.out);
}

TEST(DemoMarker, MarkerWithSameOptionsIsReusedWhateverHowItIsServed) {
  DemoOptions o = finished_layout("same");
  write_demo_marker(o, 12.5);
  EXPECT_TRUE(file_exists(demo_marker_path(o.out)));
  ReuseDecision d = check_finished_demo(o);
  EXPECT_TRUE(d.reuse) << d.reason;
  EXPECT_NE(d.reason.find(o.out), std::string::npos) << d.reason;
  // How it is used afterwards does not matter.
  o.serve = true;
  o.port = 9999;
  o.host = "0.0.0.0";
  o.progress = false;
  EXPECT_TRUE(check_finished_demo(o).reuse);
  o.serve = false;
  o.chat = true;
  EXPECT_TRUE(check_finished_demo(o).reuse);
  fs::remove_all(o.out);
}

TEST(DemoMarker, DifferentOptionsMeanRunAgainAndSayWhich) {
  DemoOptions o = finished_layout("differ");
  write_demo_marker(o, 13);

  DemoOptions seed = o;
  seed.seed = 7;
  ReuseDecision d = check_finished_demo(seed);
  EXPECT_FALSE(d.reuse);
  EXPECT_NE(d.reason.find("--seed 2026, not --seed 7"), std::string::npos) << d.reason;

  DemoOptions lang = o;
  lang.langs = {Lang::kZh};
  d = check_finished_demo(lang);
  EXPECT_FALSE(d.reuse);
  EXPECT_NE(d.reason.find("--lang en+zh, not --lang zh"), std::string::npos) << d.reason;

  DemoOptions minutes = o;
  minutes.minutes = 30;
  EXPECT_FALSE(check_finished_demo(minutes).reuse);

  DemoOptions arch = o;
  arch.arch = "gpt2";
  d = check_finished_demo(arch);
  EXPECT_FALSE(d.reuse);
  EXPECT_NE(d.reason.find("--arch llama, not --arch gpt2"), std::string::npos) << d.reason;

  DemoOptions dtype = o;
  dtype.dtype = resolved_dtype(o) == "fp32" ? "bf16" : "fp32";
  d = check_finished_demo(dtype);
  EXPECT_FALSE(d.reuse);
  EXPECT_NE(d.reason.find("not --dtype " + dtype.dtype), std::string::npos) << d.reason;

  DemoOptions corpus = o;
  corpus.corpus = {"moby.txt"};
  d = check_finished_demo(corpus);
  EXPECT_FALSE(d.reuse);
  EXPECT_NE(d.reason.find("moby.txt"), std::string::npos) << d.reason;

  // The same corpus named by a relative path matches its absolute spelling.
  write_demo_marker(corpus, 13);
  DemoOptions corpus_abs = corpus;
  corpus_abs.corpus = {fs::absolute("moby.txt").string()};
  EXPECT_TRUE(check_finished_demo(corpus_abs).reuse) << check_finished_demo(corpus_abs).reason;
  fs::remove_all(o.out);
}

TEST(DemoMarker, MissingModelOrCorruptMarkerMeansRunAgain) {
  DemoOptions o = finished_layout("broken");
  write_demo_marker(o, 13);
  fs::remove(o.out + "/runs/sft/last/model.safetensors");
  ReuseDecision d = check_finished_demo(o);
  EXPECT_FALSE(d.reuse);
  EXPECT_NE(d.reason.find("model.safetensors is missing"), std::string::npos) << d.reason;
  fs::remove_all(o.out);

  o = finished_layout("corrupt");
  write_file_atomic(demo_marker_path(o.out), "{\"finished\": tr");
  d = check_finished_demo(o);
  EXPECT_FALSE(d.reuse);
  EXPECT_NE(d.reason.find("unreadable"), std::string::npos) << d.reason;
  write_file_atomic(demo_marker_path(o.out), R"({"finished": true, "options": {"seed": "x"}})");
  EXPECT_FALSE(check_finished_demo(o).reuse);
  write_file_atomic(demo_marker_path(o.out), R"({"finished": true, "options": {"version": 1, "langs": 2}})");
  EXPECT_FALSE(check_finished_demo(o).reuse);  // wrong types: no throw

  // A run that starts removes the marker; a removed marker is "not finished".
  write_demo_marker(o, 13);
  remove_demo_marker(o.out);
  EXPECT_FALSE(check_finished_demo(o).reuse);
  fs::remove_all(o.out);
}

}  // namespace
}  // namespace chatforge::demo
