// Implementation of preference_loss.h.
#include "train/preference_loss.h"

#include <cmath>

#include "core/error.h"

namespace chatforge::train {
namespace {

double logistic(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
// log(logistic(x)) without overflow: -log(1 + e^-x)
double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

}  // namespace

PairLoss dpo_pair_loss(const PairLogps& x, const PreferenceLossConfig& c) {
  PairLoss out;
  const double b = c.beta;
  out.chosen_reward = b * (x.pc - x.rc);
  out.rejected_reward = b * (x.pr - x.rr);
  if (c.loss == "ipo") {
    const double nc = std::max(1.0, x.nc), nr = std::max(1.0, x.nr);
    const double d = (x.pc - x.rc) / nc - (x.pr - x.rr) / nr, e = d - 1.0 / (2.0 * b);
    out.loss = e * e;
    // loss = e^2, so dloss/dd = 2e; dd/dpc = 1/nc, dd/dpr = -1/nr
    out.dpc = 2.0 * e / nc;
    out.dpr = -2.0 * e / nr;
    return out;
  }
  const double d = (x.pc - x.rc) - (x.pr - x.rr), eps = c.label_smoothing;
  out.loss = -(1.0 - eps) * log_sigmoid(b * d) - eps * log_sigmoid(-b * d);
  // d/dd of -logsig(b d) is -b sig(-b d); of -logsig(-b d) is b sig(b d)
  const double dd = -(1.0 - eps) * b * logistic(-b * d) + eps * b * logistic(b * d);
  out.dpc = dd;
  out.dpr = -dd;
  return out;
}

KtoLoss kto_example_loss(const KtoLogps& x, double z, const PreferenceLossConfig& c) {
  KtoLoss out;
  const double b = c.beta, ratio = x.p - x.r;
  out.reward = b * ratio;
  if (x.desirable) {
    const double s = logistic(b * (ratio - z));
    out.loss = c.desirable_weight * (1.0 - s);
    out.dp = -c.desirable_weight * b * s * (1.0 - s);  // d(1 - sig(u))/du = -sig(u)(1 - sig(u)), du/dp = b
  } else {
    const double s = logistic(b * (z - ratio));
    out.loss = c.undesirable_weight * (1.0 - s);
    out.dp = c.undesirable_weight * b * s * (1.0 - s);  // du/dp = -b
  }
  return out;
}

double kto_kl(const std::vector<double>& kl_policy, const std::vector<double>& kl_ref) {
  CF_CHECK(kl_policy.size() == kl_ref.size(), "kto_kl: {} policy and {} reference values", kl_policy.size(),
           kl_ref.size());
  if (kl_policy.empty()) return 0.0;
  double s = 0;
  for (size_t i = 0; i < kl_policy.size(); ++i) s += kl_policy[i] - kl_ref[i];
  return std::max(0.0, s / static_cast<double>(kl_policy.size()));
}

void check_preference_config(const std::string& stage, const PreferenceLossConfig& c) {
  if (stage == "dpo" && !c.loss.empty() && c.loss != "sigmoid" && c.loss != "ipo")
    throw UsageError("--pref-loss must be sigmoid or ipo for --stage dpo, got '" + c.loss + "'");
  if (stage == "kto" && !c.loss.empty() && c.loss != "kto") throw UsageError("--pref-loss must be kto for --stage kto, got '" + c.loss + "'");
  if (!(c.beta > 0 && c.beta <= 1000)) throw UsageError("--beta must be in (0, 1000], got " + std::to_string(c.beta));
  if (!(c.label_smoothing >= 0 && c.label_smoothing < 0.5))
    throw UsageError("--label-smoothing must be in [0, 0.5), got " + std::to_string(c.label_smoothing));
  if (!(c.desirable_weight > 0) || !(c.undesirable_weight > 0))
    throw UsageError("--desirable-weight and --undesirable-weight must be > 0");
}

}  // namespace chatforge::train
