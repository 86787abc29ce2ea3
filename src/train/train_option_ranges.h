// The accepted range of every numeric training option, in one table that serves the
// `train` flags (checked by CLI11 as they are parsed, shown in --help), a run's options
// restored from trainer_state.json, and run_training's own check for library callers.
// A value outside its range (NaN and Inf included) would otherwise train nonsense: --lr nan
// saved NaN weights, --beta2 2 diverges, --min-lr-ratio 5 raises the rate as it "decays".
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/num_range.h"
#include "train/trainer.h"

namespace chatforge::train {

struct TrainOptionRange {
  const char* flag;  // "--lr" (nullptr: no flag, a saved-run field only)
  const char* key;   // "lr" in run.json / trainer_state.json "options" (nullptr: not saved)
  NumRange range;
  double (*get)(const TrainOptions&);
};

const std::vector<TrainOptionRange>& train_option_ranges();

// Throws UsageError naming the flag and range ("--beta2 must be in [0, 1), got 2"); with
// a saved_file, an Error naming the file and field instead ("F: field 'options.beta2' ...").
void validate_train_options(const TrainOptions& o, const std::string& saved_file = "");

}  // namespace chatforge::train
