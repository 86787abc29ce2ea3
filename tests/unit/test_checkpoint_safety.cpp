// Checkpoints against bad input and bad timing: config.json sizes checked against the
// weights' headers before anything is allocated, integers outside int, NaN weights,
// completeness decided by the COMPLETE marker (a half-pruned step directory is skipped),
// trainer_state.json fields named in errors, the training options' ranges, and what
// `train --overwrite` deletes of an earlier run.
#include <gtest/gtest.h>

#include "test_util.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"
#include "model/gpt.h"
#include "train/adamw.h"
#include "train/run_checkpoint.h"
#include "train/saved_fields.h"
#include "train/train_option_ranges.h"
#include "train/train_options_json.h"

using namespace chatforge;
using chatforge::testing::error_of;
using chatforge::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

bool mentions(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

model::GptConfig tiny_safety_config() {
  model::GptConfig c;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 16;
  c.vocab_size = 50;
  c.n_ctx = 8;
  return c;
}

std::string saved_tiny(const std::string& name) {
  const std::string d = temp_dir(name);
  model::Gpt m(tiny_safety_config());
  m.init_weights(3);
  model::save_model(d, m);
  return d;
}

void set_config_field(const std::string& dir, const std::string& key, const nlohmann::json& v) {
  auto j = nlohmann::json::parse(read_file(dir + "/config.json"));
  j[key] = v;
  if (key == "n_positions") j["n_ctx"] = v;
  write_file_atomic(dir + "/config.json", j.dump(2));
}

long max_rss_mb() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

}  // namespace

TEST(CheckpointSafety, IntegerFieldsOutsideIntAreErrorsNotWrapped) {
  auto j = tiny_safety_config().to_hf_json();
  j["vocab_size"] = (uint64_t{1} << 32) + 300;  // would read as 300
  std::string m = error_of([&] { model::GptConfig::from_hf_json(j, "d/config.json"); });
  EXPECT_TRUE(mentions(m, "d/config.json") && mentions(m, "'vocab_size'") && mentions(m, "4294967596")) << m;
  j = tiny_safety_config().to_hf_json();
  j["n_layer"] = -(int64_t{1} << 40);
  m = error_of([&] { model::GptConfig::from_hf_json(j, "c"); });
  EXPECT_TRUE(mentions(m, "'n_layer'") && mentions(m, "outside the integer range")) << m;
}

TEST(CheckpointSafety, ConfigSizesAreCheckedAgainstTheWeightsBeforeAllocating) {
  const std::string d = saved_tiny("cfg_sizes");
  const long rss0 = max_rss_mb();
  // vocab 2^24 x 16 channels is a 1 GiB model: the error must come from the headers alone
  set_config_field(d, "vocab_size", 1 << 24);
  std::string m = error_of([&] { model::load_model(d); });
  EXPECT_TRUE(mentions(m, d + "/config.json") && mentions(m, "vocab_size is 16777216") &&
              mentions(m, "'transformer.wte.weight'") && mentions(m, "[50, 16]"))
      << m;
  m = error_of([&] { model::load_checked_config(d); });  // what --resume uses
  EXPECT_TRUE(mentions(m, "vocab_size is 16777216")) << m;
  EXPECT_LT(max_rss_mb() - rss0, 200) << "the model was allocated before the check";
  set_config_field(d, "vocab_size", 50);
  set_config_field(d, "n_positions", 1 << 20);
  m = error_of([&] { model::load_model(d); });
  EXPECT_TRUE(mentions(m, "config.json: n_positions is 1048576") && mentions(m, "'transformer.wpe.weight'")) << m;
  set_config_field(d, "n_positions", 8);
  set_config_field(d, "n_layer", 1000);
  m = error_of([&] { model::load_model(d); });
  EXPECT_TRUE(mentions(m, "config.json: n_layer is 1000") && mentions(m, "holds 2 layers")) << m;
  set_config_field(d, "n_layer", 2);
  set_config_field(d, "n_embd", 32);
  m = error_of([&] { model::load_model(d); });
  EXPECT_TRUE(mentions(m, "config.json: n_embd is 32")) << m;
  set_config_field(d, "n_embd", 16);
  EXPECT_EQ(model::load_model(d)->config().vocab_size, 50);  // and back to loading fine
  fs::remove_all(d);
}

TEST(CheckpointSafety, NanWeightsAreRejectedAtLoadNamingFileAndTensor) {
  const std::string d = saved_tiny("nan_weights");
  SafeTensorsReader r(d + "/model.safetensors");
  std::vector<std::vector<float>> bufs;
  SafeTensorsWriter w;
  for (const auto& [name, info] : r.tensors()) {
    std::vector<float> f(info.numel());
    r.read_f32(name, info.shape, f.data());
    if (name == "transformer.h.1.mlp.c_fc.weight") f[5] = NAN;
    bufs.push_back(std::move(f));
    w.add_f32(name, info.shape, bufs.back().data());
  }
  const std::string d2 = temp_dir("nan_weights2");
  fs::copy_file(d + "/config.json", d2 + "/config.json");
  w.write(d2 + "/model.safetensors");
  const std::string m = error_of([&] { model::load_model(d2); });
  EXPECT_TRUE(mentions(m, d2 + "/model.safetensors") && mentions(m, "'transformer.h.1.mlp.c_fc.weight'") &&
              mentions(m, "non-finite"))
      << m;
  fs::remove_all(d);
  fs::remove_all(d2);
}

// A tiny model and its optimizer, saved as steps 1-3 of a run in `out`.
struct ThreeSavedSteps {
  model::Gpt m;
  train::AdamW opt;
  explicit ThreeSavedSteps(const std::string& out) : m(tiny_safety_config()), opt((m.init_weights(1), m), train::AdamWConfig{}) {
    for (int step : {1, 2, 3}) train::save_training_checkpoint(out, step, m, opt, {{"step", step}}, "", false);
  }
};

TEST(CheckpointSafety, CompletenessIsTheMarkerAndAHalfPrunedDirectoryIsSkipped) {
  const std::string out = temp_dir("marker");
  ThreeSavedSteps run(out);
  model::Gpt& m = run.m;
  train::AdamW& opt = run.opt;
  for (int step : {1, 2, 3}) {
    const std::string s = fmt::format("{}/step_{:07d}", out, step);
    EXPECT_TRUE(train::is_complete_checkpoint(s));
    EXPECT_EQ(read_file(s + "/" + train::kCompleteMarker), fmt::format("step {}\n", step));
  }
  // a re-save of a step replaces it whole (swapped in), leaving no temp directory
  train::save_training_checkpoint(out, 2, m, opt, {{"step", 2}, {"again", true}}, "", false);
  EXPECT_TRUE(mentions(read_file(out + "/step_0000002/trainer_state.json"), "again"));
  EXPECT_TRUE(train::is_complete_checkpoint(out + "/step_0000002"));
  for (const auto& e : fs::directory_iterator(out))
    EXPECT_FALSE(mentions(e.path().filename().string(), "tmp")) << e.path();
  // A SIGKILL while pruning step 3 (as a step of another run sharing the directory, or a
  // re-save): the marker went first, then the weights; trainer_state.json is still there.
  const std::string s3 = out + "/step_0000003";
  fs::remove(s3 + "/" + train::kCompleteMarker);
  fs::remove(s3 + "/model.safetensors");
  fs::remove(out + "/last");  // and no last link to go by
  std::vector<std::string> skipped;
  EXPECT_EQ(train::find_latest_checkpoint(out, &skipped), out + "/step_0000002");
  EXPECT_EQ(skipped, std::vector<std::string>{s3});
  // naming the half-pruned directory itself is an error that says what it is
  std::string msg = error_of([&] { train::find_latest_checkpoint(s3); });
  EXPECT_TRUE(mentions(msg, s3) && mentions(msg, "incomplete checkpoint") && mentions(msg, "COMPLETE")) << msg;
  // a complete one loads
  train::AdamW opt2(m, train::AdamWConfig{});
  EXPECT_EQ(train::load_training_checkpoint(out + "/step_0000002", m, opt2).dir, out + "/step_0000002");
  // pruning removes the leftover and keeps complete ones up to --keep
  train::prune_checkpoints(out, 5);
  EXPECT_FALSE(fs::exists(s3));
  EXPECT_TRUE(fs::exists(out + "/step_0000001") && fs::exists(out + "/step_0000002"));
  train::prune_checkpoints(out, 1);
  EXPECT_FALSE(fs::exists(out + "/step_0000001"));
  // with no complete checkpoint at all, the error lists the incomplete ones
  fs::remove(out + "/step_0000002/" + train::kCompleteMarker);
  msg = error_of([&] { train::find_latest_checkpoint(out); });
  EXPECT_TRUE(mentions(msg, "no complete training checkpoint") && mentions(msg, "1 incomplete: step_0000002")) << msg;
  fs::remove_all(out);
}

// A SIGKILL after a save renamed step 3 into place but before it swapped OUT/last leaves
// last on step 2: resuming still takes the newest complete checkpoint, by step number.
TEST(CheckpointSafety, ResumeTakesTheNewestCompleteStepWhenLastLagsBehind) {
  const std::string out = temp_dir("last_lags");
  ThreeSavedSteps run(out);
  fs::remove(out + "/last");
  fs::create_directory_symlink("step_0000002", out + "/last");
  EXPECT_EQ(train::find_latest_checkpoint(out), out + "/step_0000003");
  // past seven digits the names grow longer: step 10000000 is newer than step 9999999
  for (const char* n : {"step_9999999", "step_10000000"}) {
    fs::copy(out + "/step_0000003", out + "/" + n);
  }
  std::vector<std::string> skipped;
  fs::create_directory(out + "/step_10000001");  // a save cut short: no marker
  EXPECT_EQ(train::find_latest_checkpoint(out, &skipped), out + "/step_10000000");
  EXPECT_EQ(skipped, std::vector<std::string>{out + "/step_10000001"});
  // pruning keeps the newest by number too (last, still on step 2, is kept as well)
  train::prune_checkpoints(out, 1);
  EXPECT_TRUE(fs::exists(out + "/step_10000000") && fs::exists(out + "/step_0000002"));
  for (const char* n : {"step_0000001", "step_0000003", "step_9999999", "step_10000001"})
    EXPECT_FALSE(fs::exists(out + "/" + n)) << n;
  fs::remove_all(out);
}

// What `train --overwrite` deletes: the earlier run's step directories (complete or not, by
// step number), its links and run files; nothing else that lives in the directory.
TEST(CheckpointSafety, AnEarlierRunIsListedAndRemovedWithoutTouchingOtherFiles) {
  const std::string out = temp_dir("earlier_run");
  EXPECT_TRUE(train::earlier_run_files(out).empty());
  EXPECT_TRUE(train::earlier_run_files(out + "/none").empty());
  write_file_atomic(out + "/notes.txt", "mine\n");
  fs::create_directories(out + "/shards");
  EXPECT_TRUE(train::earlier_run_files(out).empty());  // other files are not a run
  ThreeSavedSteps run(out);
  fs::copy(out + "/step_0000003", out + "/step_10000000");
  fs::create_directory(out + "/step_0000004");  // a save cut short: no marker
  for (const char* f : {"metrics.jsonl", "report.html", "run.json"}) write_file_atomic(out + "/" + f, "x");
  const std::vector<std::string> want = {"step_0000001", "step_0000002", "step_0000003", "step_0000004",
                                         "step_10000000", "last", "run.json", "metrics.jsonl", "report.html"};
  EXPECT_EQ(train::earlier_run_files(out), want);
  EXPECT_EQ(train::remove_earlier_run(out), 5);  // the five step directories
  EXPECT_TRUE(train::earlier_run_files(out).empty());
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(out)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"notes.txt", "shards"}));
  fs::remove_all(out);
}

TEST(CheckpointSafety, StaleRunTempsAreRemovedAtStart) {
  const std::string out = temp_dir("run_temps");
  // what a SIGKILL in the middle of saves and link swaps leaves behind (PID 2^22: none)
  write_file_atomic(out + "/report.html.tmp.4194304.0123abcd", "x");
  fs::create_symlink("step_0000001", out + "/.last.tmp.4194304");
  fs::create_directories(out + "/.tmp-step_0000002-4194304");
  write_file_atomic(out + "/metrics.jsonl", "{}\n");
  const auto removed = train::remove_stale_run_temps(out);
  EXPECT_EQ(removed.size(), 3u);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(out)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"metrics.jsonl"});
  EXPECT_TRUE(train::remove_stale_run_temps(out + "/none").empty());
  fs::remove_all(out);
}

TEST(CheckpointSafety, TrainerStateFieldsAreNamedInErrors) {
  const std::string file = "run/step_0000005/trainer_state.json";
  const nlohmann::json st = {{"step", 5}, {"tokens", "12x"}, {"best_val_loss", "low"}, {"loader", {{"cursor", 7}}}};
  const train::SavedFields s{st, file, ""};
  EXPECT_EQ(s.integer("step", 0, 100), 5);
  std::string m = error_of([&] { s.u64_string("tokens"); });
  EXPECT_EQ(m, file + ": field 'tokens' must be a decimal 64-bit integer in a string, got \"12x\"");
  m = error_of([&] { s.number_or_null("best_val_loss"); });
  EXPECT_TRUE(mentions(m, "field 'best_val_loss' must be a number or null")) << m;
  m = error_of([&] { s.integer("bad_evals", 0, 10); });
  EXPECT_EQ(m, file + ": missing field 'bad_evals'");
  m = error_of([&] { s.object("loader").u64_string("cursor"); });
  EXPECT_TRUE(mentions(m, "field 'loader.cursor'")) << m;
  m = error_of([&] { s.integer("step", 6, 10); });
  EXPECT_TRUE(mentions(m, "field 'step' must be an integer in [6, 10], got 5")) << m;

  // the saved options: each field typed and named
  train::TrainOptions o;
  nlohmann::json j = train::options_to_json(o);
  EXPECT_EQ(train::options_from_json(j, file).seed, o.seed);
  auto with = [&](const char* key, const nlohmann::json& v) {
    nlohmann::json k = j;
    k[key] = v;
    return error_of([&] { train::options_from_json(k, file); });
  };
  m = with("seed", "abc");  // was a bare "stoull"
  EXPECT_EQ(m, file + ": field 'options.seed' must be a decimal 64-bit integer in a string, got \"abc\"");
  m = with("lr", "fast");
  EXPECT_TRUE(mentions(m, file) && mentions(m, "field 'options.lr' must be a number")) << m;
  m = with("batch_size", int64_t{1} << 40);
  EXPECT_TRUE(mentions(m, "field 'options.batch_size' must be an integer in range")) << m;
  m = with("sample_prompts", 3);
  EXPECT_TRUE(mentions(m, "field 'options.sample_prompts' must be an array of strings")) << m;
  nlohmann::json k = j;
  k.erase("steps");
  EXPECT_EQ(error_of([&] { train::options_from_json(k, file); }), file + ": missing field 'options.steps'");
}

TEST(CheckpointSafety, TrainingOptionRangesRejectTheSweepsNonsense) {
  // The usage error of the default options changed by `set` ("" when they are valid).
  auto usage = [](auto set) -> std::string {
    train::TrainOptions o;
    set(o);
    try {
      train::validate_train_options(o);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(usage([](train::TrainOptions&) {}), "");  // the defaults are valid
  EXPECT_EQ(usage([](train::TrainOptions& o) { o.lr = NAN; }), "--lr must be a finite number in [0, 1], got nan");
  const std::string clip = usage([](train::TrainOptions& o) { o.adamw.grad_clip = NAN; });
  EXPECT_TRUE(mentions(clip, "--grad-clip must be a finite number")) << clip;
  EXPECT_EQ(usage([](train::TrainOptions& o) { o.adamw.beta2 = 2; }), "--beta2 must be in [0, 1), got 2");
  EXPECT_EQ(usage([](train::TrainOptions& o) { o.adamw.weight_decay = -1; }),
            "--weight-decay must be in [0, 1], got -1");
  EXPECT_EQ(usage([](train::TrainOptions& o) { o.min_lr_ratio = 5; }), "--min-lr-ratio must be in [0, 1], got 5");
  // a hand-edited trainer_state.json: named by file and field, an Error (exit 1)
  train::TrainOptions o;
  o.adamw.beta1 = 1;
  const std::string m = error_of([&] { train::validate_train_options(o, "r/step_1/trainer_state.json"); });
  EXPECT_EQ(m, "r/step_1/trainer_state.json: field 'options.beta1' must be a finite number in [0, 1), got 1");
}
