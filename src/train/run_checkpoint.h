// Training checkpoints: OUT/step_NNNNNNN/ holds config.json + model.safetensors (a normal
// model checkpoint; a LoRA run (model.lora()): adapter_config.json + adapter_model.safetensors
// instead, PEFT's format, the frozen base being the run's --init), the tokenizer files, optimizer.safetensors (Adam m and v),
// trainer_state.json (step, schedule, data-loader cursor, RNG, best loss ...) and, written
// last, the marker file COMPLETE. A step directory is written under a temporary name, every
// file fsynced, the marker written and fsynced, then the directory renamed into place;
// pruning removes the marker first. So a directory is complete exactly when it has the
// marker, whatever moment a SIGKILL hit (a save, or a prune half-way through removing
// the files), and resuming picks only complete ones. OUT/last and OUT/best are symlinks
// swapped atomically. A killed run therefore always leaves a loadable newest checkpoint.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/gpt.h"
#include "train/adamw.h"

namespace chatforge::train {

// The file whose presence makes a step directory a complete checkpoint.
inline constexpr const char* kCompleteMarker = "COMPLETE";
bool is_complete_checkpoint(const std::string& step_dir);

struct SavedRun {
  std::string dir;           // the step directory that was loaded
  nlohmann::json state;      // trainer_state.json
};

// Writes OUT/step_<step>/ atomically and points OUT/last at it (and OUT/best when
// is_best). tokenizer_dir (may be empty) is copied in. Returns the step directory.
std::string save_training_checkpoint(const std::string& out, int step, const model::Gpt& model, const AdamW& opt,
                                     const nlohmann::json& state, const std::string& tokenizer_dir, bool is_best);

// The newest complete checkpoint of a run directory (the complete step_* directory with the
// highest step number, whatever OUT/last says: a SIGKILL between a save's rename and its link
// swap leaves last one step behind), or a step directory itself (an error when it is
// incomplete). `skipped` (if given) gets the incomplete step directories newer than the one
// chosen, for a message.
std::string find_latest_checkpoint(const std::string& path, std::vector<std::string>* skipped = nullptr);

// Loads weights, Adam moments and state from a step directory into model and opt (their
// shapes must match: errors name the mismatch).
SavedRun load_training_checkpoint(const std::string& step_dir, model::Gpt& model, AdamW& opt);

// Removes step directories other than last/best beyond the newest `keep` (the marker
// first, fsynced, then the rest), incomplete step directories a killed prune left, and
// temporary directories of killed runs (of processes no longer running).
void prune_checkpoints(const std::string& out, int keep);

// Removes what killed earlier runs left in a run directory (core remove_stale_temps:
// .tmp-step_* directories, .last.tmp.PID links, report.html.tmp.* files ...). Called at
// the start of a run, before it writes there; returns the names removed.
std::vector<std::string> remove_stale_run_temps(const std::string& out);

// What an earlier run left in a run directory, by name, sorted: its step_* directories
// (complete or not), the last and best links, metrics.jsonl, report.html and run.json.
// Empty when out does not exist or holds none of them (other files do not count).
std::vector<std::string> earlier_run_files(const std::string& out);

// Deletes earlier_run_files(out) (train --overwrite): the links and run files first, then
// each step directory marker first, so a kill half-way leaves no directory that looks like
// a complete checkpoint of the new run; what is left is listed by earlier_run_files again.
// Returns how many step directories it removed.
int remove_earlier_run(const std::string& out);

// Free bytes on the file system holding path.
uint64_t free_disk_bytes(const std::string& path);

}  // namespace chatforge::train
