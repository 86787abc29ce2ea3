// The preference losses as pure functions of sequence log-probabilities (each summed over a
// sequence's assistant tokens), with their derivatives, so the training step can weight
// each sequence's token losses by them (model::Gpt::backward with token weights) and the
// tests can check them against PyTorch. Definitions as TRL computes them:
//   DPO (Rafailov et al. 2023), "sigmoid": d = (pc - rc) - (pr - rr);
//     loss = -(1 - eps) logsig(beta d) - eps logsig(-beta d)   (eps: label smoothing, cDPO)
//   IPO (Azar et al. 2023), "ipo": d = (pc - rc)/nc - (pr - rr)/nr (per-token averages, as
//     TRL does); loss = (d - 1/(2 beta))^2
//   KTO (Ethayarajh et al. 2024): z = max(0, mean(kl_p - kl_r)) over mismatched pairs,
//     detached; desirable: w_d (1 - sig(beta (p - r - z))), undesirable: w_u (1 - sig(beta (z - (p - r)))).
// p*: policy log-probs, r*: reference log-probs, n*: assistant tokens of the sequence.
// Worked example: sigmoid DPO at pc=-1, pr=-2, rc=-1, rr=-1, beta=0.1 has d = 1,
// loss = -logsig(0.1) = 0.6444, dloss/dpc = -0.1 sig(-0.1) = -0.04750 = -dloss/dpr.
#pragma once
#include <string>
#include <vector>

namespace chatforge::train {

struct PreferenceLossConfig {
  std::string loss;  // dpo: sigmoid (default) | ipo; kto: kto (default)
  double beta = 0.1;
  double label_smoothing = 0;    // sigmoid only, in [0, 0.5)
  double desirable_weight = 1;   // kto
  double undesirable_weight = 1; // kto
};

// One DPO pair's inputs.
struct PairLogps {
  double pc = 0, pr = 0;  // policy log p(chosen), log p(rejected)
  double rc = 0, rr = 0;  // reference
  double nc = 1, nr = 1;  // assistant tokens (ipo)
};
struct PairLoss {
  double loss = 0;
  double dpc = 0, dpr = 0;  // dloss/dpc, dloss/dpr
  double chosen_reward = 0, rejected_reward = 0;  // beta (p - r)
};
PairLoss dpo_pair_loss(const PairLogps& x, const PreferenceLossConfig& c);

// One KTO example: policy and reference log-probs and the label.
struct KtoLogps {
  double p = 0, r = 0;
  bool desirable = true;
};
struct KtoLoss {
  double loss = 0;
  double dp = 0;      // dloss/dp (z held fixed: detached)
  double reward = 0;  // beta (p - r)
};
// z: the KL estimate (kto_kl).
KtoLoss kto_example_loss(const KtoLogps& x, double z, const PreferenceLossConfig& c);
// max(0, mean(kl_policy - kl_ref)) over the mismatched sequences (0 when there are none).
double kto_kl(const std::vector<double>& kl_policy, const std::vector<double>& kl_ref);

// Checks a configuration for a stage ("dpo" | "kto"); UsageError naming the flag.
void check_preference_config(const std::string& stage, const PreferenceLossConfig& c);

}  // namespace chatforge::train
