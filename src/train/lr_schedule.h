// Learning-rate schedule: linear warmup from lr/warmup to lr, then cosine or linear decay
// to lr * min_lr_ratio at the last step (or constant). A pure function of the step, so a
// resumed run needs only the step to continue the schedule.
//   LrSchedule{lr=1e-3, warmup=10, total=100, cosine, min_ratio=0.1}.at(0) == 1e-4
#pragma once
#include <string>

namespace chatforge::train {

struct LrSchedule {
  enum class Kind { kCosine, kLinear, kConstant };
  float lr = 3e-4f;
  int warmup = 0;
  int total = 1;
  Kind kind = Kind::kCosine;
  float min_lr_ratio = 0.1f;

  float at(int step) const;  // step counts optimizer updates from 0
  static Kind parse_kind(const std::string& s);  // "cosine" | "linear" | "constant"
  static const char* kind_name(Kind k);
};

}  // namespace chatforge::train
