// Gpt's output head and loss (gpt.h): the head's gradient into the final norm for backward,
// and the chunked loss of a frozen base, where the head and the cross-entropy run over
// blocks of rows so the (B, T, Vp) logits are never held at once.
#include <algorithm>

#include "core/error.h"
#include "model/gpt.h"
#include "model/lora.h"

namespace chatforge::model {
namespace {
constexpr size_t kLossChunkBytes = size_t{16} << 20;  // one block of logits
}  // namespace

void Gpt::set_chunked_loss(bool on) {
  CF_CHECK(!on || frozen_, "chunked loss needs a frozen base (a trained head needs every row's logits)");
  chunked_loss_ = on;
}

void Gpt::ensure_logits(size_t rows) {
  if (rows == logits_rows_) return;
  logits_buf_ = ops::Buffer();  // the old one goes before the new one comes
  logits_buf_.reset(*backend_, rows * cfg_.padded_vocab_size() * sizeof(float));
  acts_.logits = logits_buf_.data();
  logits_rows_ = rows;
}

double Gpt::chunked_forward_loss() {
  ops::Backend& be = *backend_;
  const int BT = B_ * T_, C = cfg_.n_embd, V = cfg_.vocab_size, Vp = cfg_.padded_vocab_size();
  const int rows = std::min(BT, std::max(16, static_cast<int>(kLossChunkBytes / (sizeof(float) * Vp))));
  ensure_logits(static_cast<size_t>(rows));
  const bool grads = lora_ != nullptr && lora_->training();  // a backward follows
  const size_t grad_bytes = static_cast<size_t>(BT) * C * sizeof(float);
  if (grads && head_grad_buf_.bytes() != grad_bytes) head_grad_buf_.reset(be, grad_bytes);
  double sum = 0;
  for (int r0 = 0; r0 < BT; r0 += rows) {
    const int n = std::min(rows, BT - r0);
    const uint8_t* mask = has_mask_ ? mask_ + r0 : nullptr;
    head_forward(acts_.logits, acts_.lnf + static_cast<size_t>(r0) * C, n);
    sum += be.crossentropy_forward(acts_.losses + r0, acts_.lse + r0, acts_.logits, targets_ + r0, mask, n, V, Vp);
    if (!grads) continue;
    // d(token loss)/d(logits) = softmax - onehot (0 on masked rows), then through the head
    be.crossentropy_backward(acts_.logits, acts_.lse + r0, targets_ + r0, mask, 1.0f, n, V, Vp);
    head_input_grad(head_grad_buf_.data() + static_cast<size_t>(r0) * C, acts_.logits, n);
  }
  head_grad_ready_ = grads;
  return sum;
}

void Gpt::head_backward(float dloss, const std::vector<float>* dlosses) {
  ops::Backend& be = *backend_;
  const size_t BT = static_cast<size_t>(B_) * T_, C = cfg_.n_embd;
  const int V = cfg_.vocab_size, Vp = cfg_.padded_vocab_size();
  const BackwardScratch& s = scratch_;
  // fn(i, j, d) for each run [i, j) of rows with one weight d (all rows: the scalar dloss)
  auto for_runs = [&](auto&& fn) {
    if (dlosses == nullptr) return fn(size_t{0}, BT, dloss);
    for (size_t i = 0; i < BT;) {
      size_t j = i + 1;
      while (j < BT && (*dlosses)[j] == (*dlosses)[i]) ++j;
      fn(i, j, (*dlosses)[i]);
      i = j;
    }
  };
  if (chunked_loss_) {
    CF_CHECK(head_grad_ready_, "backward after a chunked forward_loss needs its adapters training (Lora::set_training)");
    // d(loss)/d(lnf_i) = dloss_i * d(token loss i)/d(lnf_i), the latter kept by forward_loss
    be.copy(s.dln, head_grad_buf_.data(), BT * C * sizeof(float));
    for_runs([&](size_t i, size_t j, float d) { be.scale_inplace(s.dln + i * C, (j - i) * C, d); });
    return;
  }
  // the logits become dlogits = (softmax - onehot) * mask * dloss
  for_runs([&](size_t i, size_t j, float d) {
    be.crossentropy_backward(acts_.logits + i * Vp, acts_.lse + i, targets_ + i, has_mask_ ? mask_ + i : nullptr, d,
                             static_cast<int>(j - i), V, Vp);
  });
  // forward was: logits = lnf @ head^T
  if (frozen_) return head_input_grad(s.dln, acts_.logits, static_cast<int>(BT));
  const GptParams g = grad_views();
  be.matmul_backward(s.dln, const_cast<float*>(head_weight(g)), nullptr, acts_.logits, acts_.lnf,
                     head_weight(base_views()), static_cast<int>(BT), static_cast<int>(C), Vp);
}

}  // namespace chatforge::model
