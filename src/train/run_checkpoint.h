// Training checkpoints: OUT/step_NNNNNNN/ holds config.json + model.safetensors (a normal
// model checkpoint), the tokenizer files, optimizer.safetensors (Adam m and v) and
// trainer_state.json (step, schedule, data-loader cursor, RNG, best loss ...). A step
// directory is written under a temporary name and renamed into place, so it is either
// complete or absent; OUT/last and OUT/best are symlinks swapped atomically. A killed
// run therefore always leaves a loadable newest checkpoint.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/gpt.h"
#include "train/adamw.h"

namespace chatforge::train {

struct SavedRun {
  std::string dir;           // the step directory that was loaded
  nlohmann::json state;      // trainer_state.json
};

// Writes OUT/step_<step>/ atomically and points OUT/last at it (and OUT/best when
// is_best). tokenizer_dir (may be empty) is copied in. Returns the step directory.
std::string save_training_checkpoint(const std::string& out, int step, const model::Gpt& model, const AdamW& opt,
                                     const nlohmann::json& state, const std::string& tokenizer_dir, bool is_best);

// The newest complete checkpoint of a run directory (OUT/last, or the highest step_*
// directory when the link is missing or dangling), or a step directory itself.
std::string find_latest_checkpoint(const std::string& path);

// Loads weights, Adam moments and state from a step directory into model and opt (their
// shapes must match: errors name the mismatch).
SavedRun load_training_checkpoint(const std::string& step_dir, model::Gpt& model, AdamW& opt);

// Removes step directories other than last/best beyond the newest `keep`, and stale
// temporary directories left by killed runs.
void prune_checkpoints(const std::string& out, int keep);

// Free bytes on the file system holding path.
uint64_t free_disk_bytes(const std::string& path);

}  // namespace chatforge::train
