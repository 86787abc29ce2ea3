// Implementation of preference_step.h.
#include "train/preference_step.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/lora.h"

namespace chatforge::train {

std::map<std::string, double> PreferenceMetrics::means(const std::string& stage) const {
  std::map<std::string, double> out;
  const double n = examples > 0 ? static_cast<double>(examples) : NAN;
  out["loss"] = loss / n;
  if (stage == "dpo") {
    const double p = pairs > 0 ? static_cast<double>(pairs) : NAN;
    out["rewards/chosen"] = chosen_reward / p;
    out["rewards/rejected"] = rejected_reward / p;
    out["rewards/margins"] = (chosen_reward - rejected_reward) / p;
    out["rewards/accuracies"] = accuracy / p;
    out["logps/chosen"] = chosen_logp / p;
    out["logps/rejected"] = rejected_logp / p;
    out["kl"] = std::max(0.0, kl / p);  // as KTO's: the clamped mean log-ratio, over both answers
  } else {
    out["rewards/chosen"] = desirable > 0 ? chosen_reward / static_cast<double>(desirable) : NAN;
    out["rewards/rejected"] = undesirable > 0 ? rejected_reward / static_cast<double>(undesirable) : NAN;
    out["kl"] = kl_batches > 0 ? kl / static_cast<double>(kl_batches) : NAN;
  }
  return out;
}

PreferenceObjective::PreferenceObjective(std::string stage, PreferenceLossConfig config, model::Gpt* reference)
    : stage_(std::move(stage)), c_(std::move(config)), ref_(reference) {
  check_preference_config(stage_, c_);
}

PreferenceObjective::RowLogps PreferenceObjective::row_logps(const std::vector<float>& losses, const Batch& b) {
  CF_CHECK(!b.doc.empty(), "preference batches need packed rows (documents 0 and 1 of each row)");
  RowLogps r;
  r.a.assign(b.B, 0.0);
  r.b.assign(b.B, 0.0);
  r.na.assign(b.B, 0.0);
  r.nb.assign(b.B, 0.0);
  r.undesirable.assign(b.B, 0);
  for (int row = 0; row < b.B; ++row)
    for (int t = 0; t < b.T; ++t) {
      const size_t i = static_cast<size_t>(row) * b.T + t;
      if (b.mask[i] == 0) continue;
      if (b.doc[i] == 0) {  // the token loss is -log p of the target
        r.a[row] -= losses[i];
        r.na[row] += 1;
        if (b.mask[i] == 2) r.undesirable[row] = 1;
      } else if (b.doc[i] == 1) {
        r.b[row] -= losses[i];
        r.nb[row] += 1;
      }
    }
  return r;
}

PreferenceObjective::RowLogps PreferenceObjective::reference_logps(model::Gpt& policy, const Batch& b) {
  RowLogps ref;
  if (cache_ != nullptr && cache_->covers(b)) {
    ref.a.resize(b.B);
    ref.b.resize(b.B);
    for (int r = 0; r < b.B; ++r) {
      const ReferenceCache::Logps* v = cache_->find(ReferenceCache::row_key(b, r));
      ref.a[r] = v->a;
      ref.b[r] = v->b;
    }
    return ref;
  }
  mask01_.resize(b.mask.size());
  for (size_t i = 0; i < b.mask.size(); ++i) mask01_[i] = b.mask[i] != 0 ? 1 : 0;
  const model::RowLayout rows{b.doc_ids(), b.positions()};
  // The reference: a frozen model, or the policy's base with its adapters detached.
  if (ref_ != nullptr) {
    ref_->forward_loss(b.inputs.data(), b.targets.data(), mask01_.data(), b.B, b.T, rows);
    return row_logps(ref_->token_losses(), b);
  }
  model::Lora* lora = policy.lora();
  CF_CHECK(lora != nullptr, "a micro-batch's reference log-probabilities are neither cached nor computable: no "
           "reference model (and no LoRA adapters to detach)");
  policy.set_lora(nullptr);
  policy.forward_loss(b.inputs.data(), b.targets.data(), mask01_.data(), b.B, b.T, rows);
  ref = row_logps(policy.token_losses(), b);
  policy.set_lora(lora);
  return ref;
}

double PreferenceObjective::run(model::Gpt& policy, const Batch& b, float scale, std::vector<float>* weights) {
  const int32_t* doc = b.doc_ids();
  CF_CHECK(doc != nullptr, "preference batches need packed rows (made by `chatforge data prefs`)");
  mask01_.resize(b.mask.size());
  for (size_t i = 0; i < b.mask.size(); ++i) mask01_[i] = b.mask[i] != 0 ? 1 : 0;
  const model::RowLayout rows{b.doc_ids(), b.positions()};
  RowLogps ref = reference_logps(policy, b);
  ref.undesirable = {};
  policy.forward_loss(b.inputs.data(), b.targets.data(), mask01_.data(), b.B, b.T, rows);
  const RowLogps pol = row_logps(policy.token_losses(), b);
  std::vector<double> wa(b.B, 0.0), wb(b.B, 0.0);  // dloss/dlogp of documents 0 and 1
  double total = 0;
  if (stage_ == "dpo") {
    for (int r = 0; r < b.B; ++r) {
      const PairLoss l = dpo_pair_loss({pol.a[r], pol.b[r], ref.a[r], ref.b[r], pol.na[r], pol.nb[r]}, c_);
      total += l.loss;
      wa[r] = l.dpc;
      wb[r] = l.dpr;
      m_.chosen_reward += l.chosen_reward;
      m_.rejected_reward += l.rejected_reward;
      m_.accuracy += l.chosen_reward > l.rejected_reward ? 1.0 : 0.0;
      m_.chosen_logp += pol.a[r];
      m_.rejected_logp += pol.b[r];
      m_.kl += 0.5 * ((pol.a[r] - ref.a[r]) + (pol.b[r] - ref.b[r]));
      ++m_.pairs;
    }
  } else {
    const double z = kto_kl(pol.b, ref.b);
    m_.kl += z;
    ++m_.kl_batches;
    for (int r = 0; r < b.B; ++r) {
      const bool good = pol.undesirable[r] == 0;
      const KtoLoss l = kto_example_loss({pol.a[r], ref.a[r], good}, z, c_);
      total += l.loss;
      wa[r] = l.dp;  // the KL document is detached: weight 0
      (good ? m_.chosen_reward : m_.rejected_reward) += l.reward;
      ++(good ? m_.desirable : m_.undesirable);
    }
  }
  m_.loss += total;
  m_.examples += static_cast<uint64_t>(b.B);
  if (weights != nullptr) {
    // token loss = -log p, so d(scale * loss)/d(token loss) = -scale * dloss/dlogp
    weights->assign(b.mask.size(), 0.0f);
    for (int r = 0; r < b.B; ++r)
      for (int t = 0; t < b.T; ++t) {
        const size_t i = static_cast<size_t>(r) * b.T + t;
        if (b.doc[i] == 0) (*weights)[i] = static_cast<float>(-scale * wa[r]);
        else if (b.doc[i] == 1) (*weights)[i] = static_cast<float>(-scale * wb[r]);
      }
  }
  return total;
}

double PreferenceObjective::forward_backward(model::Gpt& policy, const Batch& b, float scale) {
  std::vector<float> w;
  const double total = run(policy, b, scale, &w);
  policy.backward(w);
  return total;
}

double PreferenceObjective::forward(model::Gpt& policy, const Batch& b) { return run(policy, b, 0, nullptr); }

}  // namespace chatforge::train
