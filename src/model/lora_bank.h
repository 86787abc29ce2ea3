// Several LoRA adapters over one frozen base, applied per row at inference (multi-LoRA
// serving): the base matmul runs once for every row of a pass, then each run of rows that
// uses adapter i gains scale_i * (x A^T) B^T at the adapter's sites, where scale_i = the
// user's scale * alpha / r. The base weights are never changed (no merge, no per-adapter
// copy of the model); each adapter holds only its A and B, on the model's backend.
// Used by infer_forward (gpt_cached.h); one LoraBank per server, read by one engine thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/gpt.h"
#include "model/lora.h"

namespace chatforge::model {

// Rows [row0, row0 + n) of a pass use adapter `adapter` (an index into the bank).
struct LoraRowRun {
  int row0 = 0, n = 0, adapter = 0;
};

class LoraBank {
 public:
  // A bank for adapters of `model`'s configuration, on its backend.
  explicit LoraBank(const Gpt& model);

  // Loads a PEFT adapter from dir (lora_io's checks: a bad adapter is a one-line Error naming
  // the file); its output is multiplied by `scale`. Names must be distinct and non-empty.
  // Returns the adapter's index.
  int load(const std::string& name, const std::string& dir, float scale = 1.0f);
  // Adds an adapter already in memory (tests); it must be for this base's configuration.
  int add(const std::string& name, std::unique_ptr<Lora> lora, float scale = 1.0f);

  int size() const { return static_cast<int>(adapters_.size()); }
  const std::string& name(int i) const { return adapters_.at(i).name; }
  int find(const std::string& name) const;  // -1 when absent
  const Lora& adapter(int i) const { return *adapters_.at(i).lora; }

  // out (N, ld) += the deltas of (layer, site) for each run's rows; x (N, in) is the site's
  // input. Memory of the model's backend. Runs of adapters without modules there are skipped.
  void apply(int layer, LoraSite site, float* out, int ld, const float* x, const std::vector<LoraRowRun>& runs) const;

 private:
  struct Entry {
    std::string name;
    std::unique_ptr<Lora> lora;
    float scale = 1.0f;  // user scale * alpha / r
    std::vector<std::vector<size_t>> site_modules;  // (L * kLoraSites) -> module indices
  };
  float* scratch(size_t floats) const;

  GptConfig cfg_;
  std::shared_ptr<ops::Backend> backend_;
  std::vector<Entry> adapters_;
  mutable ops::Buffer scratch_;  // us (n, r) | delta (n, rows) | part (n, rows)
};

}  // namespace chatforge::model
