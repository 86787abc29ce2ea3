// TrainOptions <-> JSON, for run.json and trainer_state.json (so a resumed run uses
// exactly the options it started with).
#pragma once
#include <nlohmann/json.hpp>

#include "train/trainer.h"

namespace chatforge::train {

nlohmann::json options_to_json(const TrainOptions& o);
TrainOptions options_from_json(const nlohmann::json& j, const std::string& context);

}  // namespace chatforge::train
