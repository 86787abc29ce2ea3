// The preference objectives (DPO, IPO, KTO; train/preference_loss.h) over the training
// step: each micro-batch row is one example from `data prefs` shards (document 0: prompt +
// chosen answer, or the KTO answer with its label as mask value 1/2; document 1: prompt +
// rejected answer, or KTO's mismatched KL pair). Per micro-batch: the reference
// log-probabilities (a frozen reference model, or with LoRA the same model with its
// adapters detached: no second copy), the policy's (one forward), the losses and their
// derivatives, then one backward in which every sequence's token losses carry the weight
// -dloss/dlogp (model::Gpt::backward with token weights). With a reference cache
// (train/reference_cache.h) a micro-batch whose rows are all cached takes the reference
// log-probabilities from it instead of a forward. The step's loss is the mean
// over the examples of every micro-batch and rank. KTO's KL estimate is taken over each
// micro-batch of this rank (TRL: per device batch, then averaged over processes).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/gpt.h"
#include "train/loader.h"
#include "train/preference_loss.h"
#include "train/reference_cache.h"

namespace chatforge::train {

// Sums over the examples seen since reset(): the metrics of an evaluation or a step.
struct PreferenceMetrics {
  double loss = 0, chosen_reward = 0, rejected_reward = 0, accuracy = 0, kl = 0;
  double chosen_logp = 0, rejected_logp = 0;
  uint64_t examples = 0, pairs = 0, desirable = 0, undesirable = 0, kl_batches = 0;
  // Means: loss, rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies,
  // logps/chosen, logps/rejected (dpo); kl (both: max(0, mean policy - reference sequence
  // log-ratio), over the pairs' two answers for dpo, KTO's mismatched pairs for kto).
  std::map<std::string, double> means(const std::string& stage) const;
};

class PreferenceObjective {
 public:
  // stage "dpo" | "kto". reference: the frozen reference model, or null to use `policy`
  // with its LoRA adapters detached.
  PreferenceObjective(std::string stage, PreferenceLossConfig config, model::Gpt* reference);

  // Examples in a micro-batch (its rows).
  uint64_t count(const Batch& b) const { return static_cast<uint64_t>(b.B); }
  // Gradients (+=) of scale * (the micro-batch's summed example losses); returns that sum.
  double forward_backward(model::Gpt& policy, const Batch& b, float scale);
  // The same without gradients (evaluation); adds to metrics() as well.
  double forward(model::Gpt& policy, const Batch& b);

  const PreferenceMetrics& metrics() const { return m_; }
  void reset_metrics() { m_ = {}; }
  const std::string& stage() const { return stage_; }

  // Per row: the two documents' log-probabilities and masked-token counts under a model's
  // last forward_loss (public for tests).
  struct RowLogps {
    std::vector<double> a, b, na, nb;
    std::vector<uint8_t> undesirable;  // kto: document 0's mask holds 2
  };
  static RowLogps row_logps(const std::vector<float>& token_losses, const Batch& b);

  // The reference's log-probabilities of a micro-batch: from the cache when it holds every
  // row, else a forward of the reference model (or of `policy` with its adapters detached).
  RowLogps reference_logps(model::Gpt& policy, const Batch& b);
  // The reference log-probabilities already computed (null: none); the reference model may
  // then be released (set_reference(nullptr) without LoRA) when the cache covers the data.
  void set_cache(const ReferenceCache* cache) { cache_ = cache; }
  void set_reference(model::Gpt* reference) { ref_ = reference; }

 private:
  // Reference, then policy log-probs; per-token weights (when `weights`) and the loss sum.
  double run(model::Gpt& policy, const Batch& b, float scale, std::vector<float>* weights);

  std::string stage_;
  PreferenceLossConfig c_;
  model::Gpt* ref_;
  const ReferenceCache* cache_ = nullptr;
  PreferenceMetrics m_;
  std::vector<uint8_t> mask01_;
};

}  // namespace chatforge::train
