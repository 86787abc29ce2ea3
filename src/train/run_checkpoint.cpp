// Implementation of run_checkpoint.h.
#include "train/run_checkpoint.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"

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

bool complete(const std::string& dir) { return file_exists(dir + "/trainer_state.json"); }

}  // namespace

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
    // trainer_state.json last: its presence marks the directory complete
    write_file_atomic(tmp_dir + "/trainer_state.json", state.dump(2) + "\n");
    fsync_path(tmp_dir);
    if (is_directory(final_dir)) fs::remove_all(final_dir, ec);  // a re-save of the same step
    CF_CHECK(::rename(tmp_dir.c_str(), final_dir.c_str()) == 0, "cannot rename {} to {}: {}", tmp_dir, final_dir,
             std::strerror(errno));
    fsync_path(out);
  } catch (...) {
    fs::remove_all(tmp_dir, ec);  // never leave a half checkpoint behind
    throw;
  }
  swap_symlink(out, "last", name);
  if (is_best) swap_symlink(out, "best", name);
  return final_dir;
}

std::string find_latest_checkpoint(const std::string& path) {
  CF_CHECK(is_directory(path), "checkpoint directory {} does not exist", path);
  if (complete(path)) return path;  // a step directory itself
  const std::string last = path + "/last";
  if (complete(last)) return fs::canonical(last).string();
  std::vector<std::string> steps;
  for (const auto& e : fs::directory_iterator(path)) {
    const std::string n = e.path().filename().string();
    if (e.is_directory() && n.rfind("step_", 0) == 0 && complete(e.path().string())) steps.push_back(n);
  }
  CF_CHECK(!steps.empty(), "{} holds no complete training checkpoint (no step_*/trainer_state.json)", path);
  std::sort(steps.begin(), steps.end());
  return path + "/" + steps.back();
}

SavedRun load_training_checkpoint(const std::string& step_dir, model::Gpt& model, AdamW& opt) {
  SavedRun run;
  run.dir = step_dir;
  const std::string sp = step_dir + "/trainer_state.json";
  try {
    run.state = nlohmann::json::parse(read_file(sp));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", sp, e.what());
  }
  const model::GptConfig saved = model::load_config(step_dir);
  const model::GptConfig& cur = model.config();
  CF_CHECK(saved.n_layer == cur.n_layer && saved.n_head == cur.n_head && saved.n_embd == cur.n_embd &&
               saved.vocab_size == cur.vocab_size && saved.n_ctx == cur.n_ctx,
           "{}: the checkpoint's model shape differs from this run's", step_dir);
  model::load_weights(model, step_dir + "/model.safetensors");
  SafeTensorsReader r(step_dir + "/optimizer.safetensors");
  const auto n = static_cast<int64_t>(opt.m().size());
  r.read_f32("adam.m", {n}, opt.m().data());
  r.read_f32("adam.v", {n}, opt.v().data());
  opt.set_step(std::stoi(r.metadata().count("step") ? r.metadata().at("step") : "0"));
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
    if (n.rfind(".tmp-step_", 0) == 0) {
      // a temp dir of a killed run (our own pid's is gone by now: saves are synchronous)
      fs::remove_all(e.path(), ec);
    } else if (e.is_directory(ec) && n.rfind("step_", 0) == 0 && n != last && n != best) {
      steps.push_back(n);
    }
  }
  std::sort(steps.begin(), steps.end());
  const int excess = static_cast<int>(steps.size()) - std::max(keep, 0);
  for (int i = 0; i < excess; ++i) fs::remove_all(fs::path(out) / steps[i], ec);
}

}  // namespace chatforge::train
