// Implementation of run_checkpoint.h.
#include "train/run_checkpoint.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"
#include "model/lora_io.h"

namespace chatforge::train {

namespace fs = std::filesystem;

namespace {

std::string step_name(int step) { return fmt::format("step_{:07d}", step); }

void fsync_path(const std::string& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Points OUT/name at target (a relative name) atomically: a new link under a temporary
// name, then rename over the old one.
void swap_symlink(const std::string& out, const std::string& name, const std::string& target) {
  const std::string tmp = fmt::format("{}/.{}.tmp.{}", out, name, ::getpid());
  ::unlink(tmp.c_str());
  CF_CHECK(::symlink(target.c_str(), tmp.c_str()) == 0, "cannot create link {}: {}", tmp, std::strerror(errno));
  if (::rename(tmp.c_str(), (out + "/" + name).c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("cannot update {}/{}: {}", out, name, std::strerror(err));
  }
  fsync_path(out);
}

// Removes a step directory so that a kill at any moment leaves it either complete or
// marked incomplete: the marker goes first (and reaches the disk), then everything else.
void remove_checkpoint(const fs::path& dir) {
  std::error_code ec;
  const std::string marker = (dir / kCompleteMarker).string();
  if (::unlink(marker.c_str()) == 0) fsync_path(dir.string());
  fs::remove_all(dir, ec);
}

bool is_step_name(const std::string& n) {
  return n.size() > 5 && n.rfind("step_", 0) == 0 &&
         std::all_of(n.begin() + 5, n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Orders step_* names by step number (names past 7 digits grow longer, so not by name).
bool by_step(const std::string& a, const std::string& b) {
  return std::make_pair(a.size(), a) < std::make_pair(b.size(), b);
}

}  // namespace

bool is_complete_checkpoint(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / kCompleteMarker, ec);
}

uint64_t free_disk_bytes(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return UINT64_MAX;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

std::string save_training_checkpoint(const std::string& out, int step, const model::Gpt& model, const AdamW& opt,
                                     const nlohmann::json& state, const std::string& tokenizer_dir, bool is_best) {
  make_dirs(out);
  const std::string name = step_name(step);
  const std::string final_dir = out + "/" + name;
  const std::string tmp_dir = fmt::format("{}/.tmp-{}-{}", out, name, ::getpid());
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  try {
    make_dirs(tmp_dir);
    if (model.lora() != nullptr)  // LoRA: the adapter alone (PEFT format); the base is the run's --init
      model::save_adapter(tmp_dir, *model.lora(), state.at("options").value("init", ""));
    else
      model::save_model(tmp_dir, model);
    if (!tokenizer_dir.empty())
      for (const char* f : {"tokenizer.json", "tokenizer_config.json", "vocab.txt"}) {
        const std::string src = tokenizer_dir + "/" + f;
        if (file_exists(src)) write_file_atomic(tmp_dir + "/" + f, read_file(src));
      }
    SafeTensorsWriter w;
    const auto n = static_cast<int64_t>(const_cast<AdamW&>(opt).m().size());
    w.add_f32("adam.m", {n}, const_cast<AdamW&>(opt).m().data());
    w.add_f32("adam.v", {n}, const_cast<AdamW&>(opt).v().data());
    w.set_metadata("step", std::to_string(opt.step()));
    w.write(tmp_dir + "/optimizer.safetensors");
    write_file_atomic(tmp_dir + "/trainer_state.json", state.dump(2) + "\n");
    // The marker last, after every file above was fsynced (each atomic write syncs its
    // file and the directory): its presence means the directory is whole.
    write_file_atomic(tmp_dir + "/" + kCompleteMarker, fmt::format("step {}\n", step));
    fsync_path(tmp_dir);
    // A re-save of the same step (the final save at a periodic step) swaps the directories
    // atomically where the file system can, so the name never goes missing; the old one,
    // now under the temp name, is removed after.
    if (is_directory(final_dir) &&
        ::renameat2(AT_FDCWD, tmp_dir.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) == 0) {
      fsync_path(out);
      remove_checkpoint(tmp_dir);
    } else {
      if (is_directory(final_dir)) remove_checkpoint(final_dir);
      CF_CHECK(::rename(tmp_dir.c_str(), final_dir.c_str()) == 0, "cannot rename {} to {}: {}", tmp_dir, final_dir,
               std::strerror(errno));
    }
    fsync_path(out);
  } catch (...) {
    fs::remove_all(tmp_dir, ec);  // never leave a half checkpoint behind
    throw;
  }
  swap_symlink(out, "last", name);
  if (is_best) swap_symlink(out, "best", name);
  return final_dir;
}

std::string find_latest_checkpoint(const std::string& path, std::vector<std::string>* skipped) {
  CF_CHECK(is_directory(path), "checkpoint directory {} does not exist", path);
  if (is_complete_checkpoint(path)) return path;  // a step directory itself
  const std::string base = fs::path(path).filename().string();
  CF_CHECK(!is_step_name(base) && !file_exists(path + "/trainer_state.json"),
           "{} is an incomplete checkpoint (no {} marker: its save or removal was cut short); resume from the run "
           "directory or another step_* directory", path, kCompleteMarker);
  std::vector<std::string> complete, incomplete;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const std::string n = e.path().filename().string();
    if (!is_step_name(n) || !e.is_directory(ec)) continue;
    (is_complete_checkpoint(e.path().string()) ? complete : incomplete).push_back(n);
  }
  std::sort(complete.begin(), complete.end(), by_step);
  std::sort(incomplete.begin(), incomplete.end(), by_step);
  // The highest complete step, not OUT/last: a SIGKILL between a save's rename and the link
  // swap leaves last one step behind a whole checkpoint (last only ever names a step_*).
  CF_CHECK(!complete.empty(), "{} holds no complete training checkpoint (no step_*/{}{})", path, kCompleteMarker,
           incomplete.empty() ? std::string()
                              : fmt::format("; {} incomplete: {}", incomplete.size(), fmt::join(incomplete, ", ")));
  const std::string chosen = (fs::path(path) / complete.back()).string();
  if (skipped != nullptr) {
    for (const auto& n : incomplete)
      if (by_step(complete.back(), n)) skipped->push_back((fs::path(path) / n).string());
  }
  return chosen;
}

SavedRun load_training_checkpoint(const std::string& step_dir, model::Gpt& model, AdamW& opt) {
  SavedRun run;
  run.dir = step_dir;
  const std::string sp = step_dir + "/trainer_state.json";
  try {
    run.state = parse_json(read_file(sp), sp);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", sp, e.what());
  }
  if (model.lora() != nullptr) {
    model::read_adapter_weights(step_dir, *model.lora());
  } else {
    const model::GptConfig saved = model::load_config(step_dir);
    const model::GptConfig& cur = model.config();
    CF_CHECK(saved.n_layer == cur.n_layer && saved.n_head == cur.n_head && saved.n_embd == cur.n_embd &&
                 saved.vocab_size == cur.vocab_size && saved.n_ctx == cur.n_ctx,
             "{}: the checkpoint's model shape differs from this run's", step_dir);
    model::load_weights(model, step_dir + "/model.safetensors");
  }
  SafeTensorsReader r(step_dir + "/optimizer.safetensors");
  const auto n = static_cast<int64_t>(opt.m().size());
  r.read_f32("adam.m", {n}, opt.m().data());
  r.read_f32("adam.v", {n}, opt.v().data());
  int opt_step = 0;
  if (r.metadata().count("step")) {
    const std::string& v = r.metadata().at("step");
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), opt_step);
    CF_CHECK(!v.empty() && ec == std::errc() && ptr == v.data() + v.size() && opt_step >= 0,
             "{}/optimizer.safetensors: metadata field 'step' must be a non-negative integer, got \"{}\"", step_dir, v);
  }
  opt.set_step(opt_step);
  return run;
}

void prune_checkpoints(const std::string& out, int keep) {
  std::error_code ec;
  auto target = [&](const char* link) {
    const fs::path p = fs::path(out) / link;
    return fs::is_symlink(p, ec) ? fs::read_symlink(p, ec).filename().string() : std::string();
  };
  const std::string last = target("last"), best = target("best");
  std::vector<std::string> steps;
  for (const auto& e : fs::directory_iterator(out, ec)) {
    const std::string n = e.path().filename().string();
    if (!is_step_name(n) || !e.is_directory(ec) || n == last || n == best) continue;
    if (is_complete_checkpoint(e.path().string()))
      steps.push_back(n);
    else
      remove_checkpoint(e.path());  // what a killed prune left (saves never leave one: they rename)
  }
  std::sort(steps.begin(), steps.end(), by_step);
  const int excess = static_cast<int>(steps.size()) - std::max(keep, 0);
  for (int i = 0; i < excess; ++i) remove_checkpoint(fs::path(out) / steps[i]);
  remove_stale_temps(out);  // temp directories of killed runs
}

namespace {
constexpr const char* kRunFiles[] = {"last", "best", "run.json", "metrics.jsonl", "report.html"};
}  // namespace

std::vector<std::string> earlier_run_files(const std::string& out) {
  std::vector<std::string> names, steps;
  std::error_code ec;
  for (const char* f : kRunFiles)
    if (fs::exists(fs::symlink_status(fs::path(out) / f, ec))) names.push_back(f);
  for (const auto& e : fs::directory_iterator(out, ec)) {
    const std::string n = e.path().filename().string();
    if (is_step_name(n) && e.is_directory(ec)) steps.push_back(n);
  }
  std::sort(steps.begin(), steps.end(), by_step);
  names.insert(names.begin(), steps.begin(), steps.end());
  return names;
}

int remove_earlier_run(const std::string& out) {
  const std::vector<std::string> names = earlier_run_files(out);
  for (const std::string& n : names) {
    if (is_step_name(n)) continue;
    std::error_code ec;
    fs::remove(fs::path(out) / n, ec);
    CF_CHECK(!ec, "cannot remove {}/{}: {}", out, n, ec.message());
  }
  fsync_path(out);
  int steps = 0;
  for (const std::string& n : names) {
    if (!is_step_name(n)) continue;
    remove_checkpoint(fs::path(out) / n);
    CF_CHECK(!fs::exists(fs::path(out) / n), "cannot remove {}/{}", out, n);
    ++steps;
  }
  return steps;
}

std::vector<std::string> remove_stale_run_temps(const std::string& out) {
  if (!is_directory(out)) return {};
  return remove_stale_temps(out, /*at_startup=*/true);
}

}  // namespace chatforge::train
