// Implementation of lr_schedule.h.
#include "train/lr_schedule.h"

#include <cmath>

#include "core/error.h"

namespace chatforge::train {

float LrSchedule::at(int step) const {
  if (warmup > 0 && step < warmup) return lr * static_cast<float>(step + 1) / warmup;
  if (kind == Kind::kConstant || total <= warmup + 1) return lr;
  const float min_lr = lr * min_lr_ratio;
  float p = static_cast<float>(step - warmup) / static_cast<float>(total - 1 - warmup);
  p = p < 0 ? 0 : (p > 1 ? 1 : p);
  if (kind == Kind::kLinear) return lr + (min_lr - lr) * p;
  return min_lr + (lr - min_lr) * 0.5f * (1.0f + std::cos(static_cast<float>(M_PI) * p));
}

LrSchedule::Kind LrSchedule::parse_kind(const std::string& s) {
  if (s == "cosine") return Kind::kCosine;
  if (s == "linear") return Kind::kLinear;
  if (s == "constant") return Kind::kConstant;
  usage_fail("--lr-schedule must be cosine, linear or constant, got '{}'", s);
}

const char* LrSchedule::kind_name(Kind k) {
  switch (k) {
    case Kind::kCosine: return "cosine";
    case Kind::kLinear: return "linear";
    case Kind::kConstant: return "constant";
  }
  return "?";
}

}  // namespace chatforge::train
