// Gpt's base, wherever it is stored (gpt.h): fp32 in the parameter arena, or, for a frozen
// base in a reduced format (LoRA's --base-dtype), the block projections, the embedding and
// an untied head as stored matrices beside a small arena of the fp32 tensors kept. The
// model's forward and backward reach the base's matrices only through the functions here.
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "model/gpt.h"
#include "model/lora.h"

namespace chatforge::model {
namespace {

constexpr size_t kNotKept = std::numeric_limits<size_t>::max();

// The tensors a reduced base stores in its format; everything else stays fp32.
bool stored_tensor(const std::string& name) {
  return name == "qkvw" || name == "attprojw" || name == "fcw" || name == "fcprojw" || name == "wte" ||
         name == "lm_head";
}

size_t aligned64(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

void Gpt::init_stored_base(ops::WeightFormat format) {
  CF_CHECK(backend_->host_memory() && backend_->supports_format(format),
           "a frozen base in {} needs the CPU backend: {} trains over an fp32 base only",
           ops::weight_format_name(format), backend_->name());
  freeze_base();
  // the fp32 tensors kept, packed in layout order
  const auto& tensors = layout_.tensors();
  kept_offset_.assign(tensors.size(), kNotKept);
  size_t kept = 0;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!stored_tensor(tensors[i].name)) {
      kept_offset_[i] = kept;
      kept += tensors[i].numel();
    }
  params_.resize(kept);
  kept_views_ = layout_.views([&](const ParamTensor& t) -> float* {
    const size_t off = kept_offset_[static_cast<size_t>(&t - tensors.data())];
    return off == kNotKept ? nullptr : params_.data() + off;
  });
  // the stored matrices, 64-byte aligned pieces of one allocation (zero: padding rows stay 0)
  auto st = std::make_unique<StoredBase>();
  st->format = format;
  const int L = cfg_.n_layer, C = cfg_.n_embd, Vp = cfg_.padded_vocab_size();
  const int QKV = cfg_.qkv_dim(), Q = cfg_.q_dim(), U = cfg_.ffn_up_rows(), F = cfg_.ffn();
  st->qkv.resize(L), st->attproj.resize(L), st->fc.resize(L), st->fcproj.resize(L);
  std::vector<std::pair<ops::WeightMatrix*, std::pair<int, int>>> pieces;  // (matrix, (OC, C))
  for (int l = 0; l < L; ++l) {
    pieces.push_back({&st->qkv[l], {QKV, C}});
    pieces.push_back({&st->attproj[l], {C, Q}});
    pieces.push_back({&st->fc[l], {U, C}});
    pieces.push_back({&st->fcproj[l], {C, F}});
  }
  pieces.push_back({&st->embedding, {Vp, C}});
  if (!cfg_.tie_embeddings) pieces.push_back({&st->head, {Vp, C}});
  const bool int8 = format == ops::WeightFormat::kInt8;
  size_t bytes = 0;
  for (const auto& [m, d] : pieces)
    bytes += aligned64(ops::weight_storage_bytes(d.first, d.second, format)) + (int8 ? aligned64(d.first * 4) : 0);
  st->storage.resize(bytes / sizeof(float));
  auto* at = reinterpret_cast<uint8_t*>(st->storage.data());
  for (const auto& [m, d] : pieces) {
    *m = {format, at, nullptr, d.first, d.second};
    at += aligned64(ops::weight_storage_bytes(d.first, d.second, format));
    if (int8) {
      m->scale = reinterpret_cast<float*>(at);
      at += aligned64(d.first * 4);
    }
  }
  if (cfg_.tie_embeddings) st->head = st->embedding;
  stored_ = std::move(st);
}

GptParams Gpt::base_views() const { return stored_ ? kept_views_ : layout_.views(device_params()); }

void Gpt::write_rows(const ParamTensor& tensor, int layer, int64_t row0, int64_t n, const float* src) {
  const ParamTensor& t = layout_.find(tensor.name);  // ours (the caller's may be another layout's)
  const Shape& s = t.shape;
  const int inner = s.ndim - (t.per_layer ? 1 : 0);
  const int64_t rows = inner == 2 ? s[s.ndim - 2] : s[s.ndim - 1], cols = inner == 2 ? s[s.ndim - 1] : 1;
  const int layers = t.per_layer ? static_cast<int>(s[0]) : 1;
  CF_CHECK(layer >= 0 && layer < layers && row0 >= 0 && n >= 0 && row0 + n <= rows,
           "write_rows: rows [{}, {}) of layer {} of {} (layers {}, rows {})", row0, row0 + n, layer, t.name, layers,
           rows);
  if (stored_ && stored_tensor(t.name)) {
    const StoredBase& b = *stored_;
    const ops::WeightMatrix& m = t.name == "qkvw"     ? b.qkv[layer]
                                 : t.name == "attprojw" ? b.attproj[layer]
                                 : t.name == "fcw"      ? b.fc[layer]
                                 : t.name == "fcprojw"  ? b.fcproj[layer]
                                 : t.name == "wte"      ? b.embedding
                                                        : b.head;
    ops::quantize_rows(const_cast<void*>(m.data), const_cast<float*>(m.scale), src, static_cast<int>(row0),
                       static_cast<int>(row0 + n), m.OC, m.C, b.format);
    return;
  }
  const size_t base = stored_ ? kept_offset_[static_cast<size_t>(&t - layout_.tensors().data())] : t.offset;
  float* dst = params_.data() + base + static_cast<size_t>(layer) * rows * cols + static_cast<size_t>(row0 * cols);
  std::memcpy(dst, src, static_cast<size_t>(n * cols) * sizeof(float));
}

void Gpt::proj_forward(LoraSite site, int l, float* out, const float* inp, const float* bias) {
  const int BT = B_ * T_;
  if (stored_) {
    const StoredBase& b = *stored_;
    const ops::WeightMatrix& m = site == LoraSite::kQkv       ? b.qkv[l]
                                 : site == LoraSite::kAttnOut ? b.attproj[l]
                                 : site == LoraSite::kMlpUp   ? b.fc[l]
                                                              : b.fcproj[l];
    backend_->stored_matmul_forward(out, inp, m, bias, BT);
    return;
  }
  const GptParams w = base_views();
  const size_t C = cfg_.n_embd, QKV = cfg_.qkv_dim(), Q = cfg_.q_dim(), U = cfg_.ffn_up_rows(), F = cfg_.ffn();
  const size_t L = l;
  switch (site) {  // weight (OC, in) of layer l
    case LoraSite::kQkv: return backend_->matmul_forward(out, inp, w.qkvw + L * QKV * C, bias, BT, C, QKV);
    case LoraSite::kAttnOut: return backend_->matmul_forward(out, inp, w.attprojw + L * C * Q, bias, BT, Q, C);
    case LoraSite::kMlpUp: return backend_->matmul_forward(out, inp, w.fcw + L * U * C, bias, BT, C, U);
    case LoraSite::kMlpDown: return backend_->matmul_forward(out, inp, w.fcprojw + L * C * F, bias, BT, F, C);
  }
}

void Gpt::proj_backward(LoraSite site, int l, float* dinp, float* dw, float* db, const float* dout,
                        const float* inp) {
  const int BT = B_ * T_;
  if (stored_) {  // a frozen base: the input gradient only (dw, db are null)
    const StoredBase& b = *stored_;
    const ops::WeightMatrix& m = site == LoraSite::kQkv       ? b.qkv[l]
                                 : site == LoraSite::kAttnOut ? b.attproj[l]
                                 : site == LoraSite::kMlpUp   ? b.fc[l]
                                                              : b.fcproj[l];
    backend_->stored_matmul_backward(dinp, dout, m, BT);
    return;
  }
  const GptParams w = base_views();
  const size_t C = cfg_.n_embd, QKV = cfg_.qkv_dim(), Q = cfg_.q_dim(), U = cfg_.ffn_up_rows(), F = cfg_.ffn();
  const size_t L = l;
  ops::Backend& be = *backend_;
  switch (site) {  // forward was: out = inp @ W^T + b
    case LoraSite::kQkv: return be.matmul_backward(dinp, dw, db, dout, inp, w.qkvw + L * QKV * C, BT, C, QKV);
    case LoraSite::kAttnOut: return be.matmul_backward(dinp, dw, db, dout, inp, w.attprojw + L * C * Q, BT, Q, C);
    case LoraSite::kMlpUp: return be.matmul_backward(dinp, dw, db, dout, inp, w.fcw + L * U * C, BT, C, U);
    case LoraSite::kMlpDown: return be.matmul_backward(dinp, dw, db, dout, inp, w.fcprojw + L * C * F, BT, F, C);
  }
}

void Gpt::embed_forward() {
  const GptParams w = base_views();
  // x = wte[inp] + wpe[pos] (rotary models: wte[inp])
  if (!stored_)
    return backend_->encoder_forward(acts_.encoded, inp_, has_pos_ ? pos_ : nullptr, w.wte, w.wpe, B_, T_,
                                     cfg_.n_embd);
  // host ids and positions (a reduced base lives on the CPU; upload_inputs filled pos_)
  backend_->embedding_rows(acts_.encoded, inp_, pos_, stored_->embedding, w.wpe, B_ * T_);
}

void Gpt::head_forward(float* logits, const float* lnf, int rows) {
  if (stored_) return backend_->stored_matmul_forward(logits, lnf, stored_->head, nullptr, rows);
  backend_->matmul_forward(logits, lnf, head_weight(base_views()), nullptr, rows, cfg_.n_embd,
                           cfg_.padded_vocab_size());
}

void Gpt::head_input_grad(float* dlnf, const float* dlogits, int rows) {
  // forward was: logits = lnf @ head^T, so dlnf = dlogits @ head (a frozen head: no dhead)
  if (stored_) return backend_->stored_matmul_backward(dlnf, dlogits, stored_->head, rows);
  backend_->matmul_backward(dlnf, nullptr, nullptr, dlogits, acts_.lnf, head_weight(base_views()), rows,
                            cfg_.n_embd, cfg_.padded_vocab_size());
}

}  // namespace chatforge::model
