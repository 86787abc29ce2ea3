// Implementation of gpt.h: the forward and backward passes, once, over the backend's ops.
#include "model/gpt.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>

#include "core/error.h"
#include "core/rng.h"
#include "model/lora.h"

namespace chatforge::model {
namespace {

// One allocation carved into tensors of the given float counts, each 256-byte aligned
// (CUDA's GEMMs like that; the CPU needs 64). Returns the start of each.
std::vector<float*> carve(ops::Backend& backend, ops::Buffer& buf, std::initializer_list<size_t> sizes) {
  constexpr size_t kAlign = 64;  // floats
  size_t total = 0;
  for (size_t s : sizes) total += (s + kAlign - 1) / kAlign * kAlign;
  buf = ops::Buffer();  // release the old set before allocating the new one
  buf.reset(backend, total * sizeof(float));
  std::vector<float*> out;
  float* p = buf.data();
  for (size_t s : sizes) {
    out.push_back(p);
    p += (s + kAlign - 1) / kAlign * kAlign;
  }
  return out;
}

}  // namespace

Gpt::Gpt(const GptConfig& cfg, std::shared_ptr<ops::Backend> backend, ops::WeightFormat base_format)
    : cfg_(cfg), layout_(cfg), backend_(std::move(backend)) {
  cfg_.validate("model config");
  if (!backend_) backend_ = std::shared_ptr<ops::Backend>(&ops::cpu_backend(), [](ops::Backend*) {});
  if (base_format != ops::WeightFormat::kF32) {
    init_stored_base(base_format);  // gpt_base.cpp
  } else {
    params_.resize(layout_.total());
    if (!backend_->host_memory()) dparams_.reset(*backend_, params_.bytes());
  }
  if (cfg_.llama()) {
    const std::vector<float> inv_freq = cfg_.rope_inv_freq();
    rope_freq_.reset(*backend_, inv_freq.size() * sizeof(float));
    backend_->upload(rope_freq_.data(), inv_freq.data(), inv_freq.size() * sizeof(float));
    rope_scale_ = cfg_.rope_attention_scale();
  }
}

void Gpt::push_params() {
  if (dparams_.data()) backend_->upload(dparams_.data(), params_.data(), params_.bytes());
}
void Gpt::pull_params() {
  if (dparams_.data()) backend_->download(params_.data(), dparams_.data(), params_.bytes());
}
void Gpt::ensure_grads() const {
  if (frozen_ || grads_.size() == layout_.total()) return;
  grads_.resize(layout_.total());
  if (!backend_->host_memory()) dgrads_.reset(*backend_, grads_.bytes());
}

void Gpt::freeze_base() {
  frozen_ = true;
  grads_ = Arena();
  dgrads_ = ops::Buffer();
  const size_t n = 2 * static_cast<size_t>(std::max(cfg_.n_embd, cfg_.head_size()));
  norm_sink_.reset(*backend_, n * sizeof(float));
}

GptParams Gpt::grad_views() const { return frozen_ ? GptParams{} : layout_.views(device_grads()); }

void Gpt::push_grads() {
  if (dgrads_.data()) backend_->upload(dgrads_.data(), grads_.data(), grads_.bytes());
}
void Gpt::pull_grads() {
  if (dgrads_.data()) backend_->download(grads_.data(), dgrads_.data(), grads_.bytes());
}

void Gpt::init_weights(uint64_t seed) {
  Rng rng(seed);
  if (!stored_) params_.zero();
  const float resid_std = 0.02f / std::sqrt(2.0f * cfg_.n_layer);
  std::vector<float> block;
  std::vector<double> uniforms;
  // Slice by slice in the arena's order, a block of rows at a time (the draws are those of
  // one pass over each tensor), through write_rows: a reduced base rounds each block as it
  // comes. The token embedding's padding rows are not slices: they stay 0. A normal block's
  // uniforms are drawn in order and transformed on all threads: the bits of
  // float(rng.normal()) * std one by one (Box-Muller's log and cos were most of init's time).
  for (const ParamSlice& sl : param_slices(cfg_, layout_)) {
    const ParamTensor& t = *sl.tensor;
    const int64_t layer_rows = sl.matrix() ? t.shape[t.shape.ndim - 2] : (t.per_layer ? t.shape[1] : t.shape[0]);
    const int64_t first = sl.matrix() ? (sl.offset - t.offset) / sl.cols % layer_rows : 0;
    const int64_t step = std::max<int64_t>(1, (int64_t{1} << 20) / sl.cols);
    const bool normal = t.kind == ParamKind::kEmbedding || t.kind == ParamKind::kMatmulWeight;
    const float std = (t.name == "attprojw" || t.name == "fcprojw") ? resid_std : 0.02f;
    for (int64_t r0 = 0; r0 < sl.rows; r0 += step) {
      const int64_t n = std::min(step, sl.rows - r0);
      block.resize(static_cast<size_t>(n * sl.cols));
      if (normal) {
        uniforms.resize(2 * block.size());
        for (size_t i = 0; i < block.size(); ++i) std::tie(uniforms[2 * i], uniforms[2 * i + 1]) = rng.normal_uniforms();
        const int64_t count = static_cast<int64_t>(block.size());
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < count; ++i)
          block[i] = static_cast<float>(Rng::normal_from(uniforms[2 * i], uniforms[2 * i + 1])) * std;
      } else {
        std::fill(block.begin(), block.end(), t.kind == ParamKind::kNormWeight ? 1.0f : 0.0f);
      }
      write_rows(t, std::max(sl.layer, 0), first + r0, n, block.data());
    }
  }
  push_params();
}

void Gpt::zero_grad() {
  if (!frozen_) backend_->zero(device_grads(), grads().bytes());
  if (lora_ != nullptr) lora_->zero_grad();
}

const char* recompute_name(Recompute r) {
  switch (r) {
    case Recompute::kNone: return "none";
    case Recompute::kMlp: return "mlp";
    case Recompute::kAll: return "all";
  }
  return "?";
}

Recompute parse_recompute(const std::string& name) {
  for (Recompute r : {Recompute::kNone, Recompute::kMlp, Recompute::kAll})
    if (name == recompute_name(r)) return r;
  throw UsageError(fmt::format("--recompute {}: expected none, mlp or all", name));
}

void Gpt::ensure_activations(int B, int T) {
  CF_CHECK(B >= 1 && T >= 1, "batch size and sequence length must be positive (got B={}, T={})", B, T);
  CF_CHECK(T <= cfg_.n_ctx, "sequence length {} exceeds the model's context of {} tokens", T, cfg_.n_ctx);
  if (B == B_ && T == T_ && recompute_ == acts_recompute_ && frozen_ == acts_lean_) return;
  acts_recompute_ = recompute_;
  acts_lean_ = frozen_;
  const size_t L = cfg_.n_layer, C = cfg_.n_embd, NH = cfg_.n_head;
  const size_t QKV = cfg_.qkv_dim(), Q = cfg_.q_dim(), U = cfg_.ffn_up_rows(), F = cfg_.ffn();
  const size_t QK = cfg_.qk_norm ? QKV : 0, QKH = cfg_.qk_norm ? NH + cfg_.kv_heads() : 0;  // Qwen3 only
  const size_t BT = static_cast<size_t>(B) * T;
  const ActSlots n = act_slots();
  const size_t K = n.insides, Kc = n.cheap, Km = n.mlp_pre, Kg = n.mlp_post;
  const auto p = carve(*backend_, acts_buf_,
                       {
                           BT * C,                          // encoded
                           Kc * BT * C, K * BT, K * BT,     // ln1, mean, rstd (every norm's backward reads these)
                           K * BT * QKV,                    // qkv
                           K * BT * QK, K * BT * QKH,       // qkv_pre, qk_rstd
                           Kc * BT * Q,                     // atty (lean: redone from q|k|v)
                           K * B * NH * T,                  // att_lse
                           K * BT * C,                      // residual2
                           Kc * BT * C, K * BT, K * BT,     // ln2, mean, rstd
                           Km * BT * U, Kg * BT * F,        // fch, fch_gelu
                           L * BT * C,                      // residual3 (every layer's output: the next one's input)
                           BT * C, BT, BT,                  // lnf, mean, rstd
                           BT, BT,                          // losses, lse (the logits: ensure_logits)
                       });
  acts_ = Activations{p[0],  p[1],  p[2],  p[3],  p[4],  p[5],  p[6],  p[7],  p[8],  p[9],  p[10],
                      p[11], p[12], p[13], p[14], p[15], p[16], p[17], p[18], nullptr, p[19], p[20]};
  logits_buf_ = ops::Buffer();
  logits_rows_ = 0;
  head_grad_buf_ = ops::Buffer();
  head_grad_ready_ = false;
  // inputs: ids, targets, doc, pos as int32 and the mask as bytes, in one allocation
  io_buf_ = ops::Buffer();
  io_buf_.reset(*backend_, BT * (4 * sizeof(int32_t) + 1) + 64);
  inp_ = io_buf_.as<int32_t>();
  targets_ = inp_ + BT;
  doc_ = targets_ + BT;
  pos_ = doc_ + BT;
  mask_ = reinterpret_cast<uint8_t*>(pos_ + BT);
  B_ = B;
  T_ = T;
  scratch_buf_ = ops::Buffer();  // sized for the old (B, T): rebuilt on the next backward
}

void Gpt::ensure_scratch() {
  if (scratch_buf_.bytes() != 0) return;
  const size_t C = cfg_.n_embd, BT = static_cast<size_t>(B_) * T_, Q = cfg_.q_dim();
  const size_t dact = cfg_.llama() ? BT * cfg_.ffn() : 0;
  const auto p = carve(*backend_, scratch_buf_,
                       {BT * C, BT * std::max(C, Q), BT * cfg_.qkv_dim(), BT * cfg_.ffn_up_rows(), dact});
  scratch_ = BackwardScratch{p[0], p[1], p[2], p[3], p[4]};
}

Gpt::ActSlots Gpt::act_slots() const {
  const size_t L = cfg_.n_layer;
  const bool all = acts_recompute_ == Recompute::kAll, mlp = all || acts_recompute_ == Recompute::kMlp;
  return ActSlots{all ? 1 : L,                      // insides (recompute: a working one)
                  all || acts_lean_ ? 1 : L,        // the cheap ones (lean: a working one under a frozen base)
                  mlp ? 1 : L,                      // the MLP hidden before its activation
                  mlp || acts_lean_ ? 1 : L};       // and after it
}

Gpt::LayerActs Gpt::layer_acts(int l) {
  const size_t C = cfg_.n_embd, BT = static_cast<size_t>(B_) * T_, btc = BT * C;
  const size_t QKV = cfg_.qkv_dim(), Q = cfg_.q_dim(), U = cfg_.ffn_up_rows(), F = cfg_.ffn();
  const size_t QK = cfg_.qk_norm ? QKV : 0, QKH = cfg_.qk_norm ? cfg_.n_head + cfg_.kv_heads() : 0;
  const ActSlots n = act_slots();
  const auto slot = [l](size_t count) -> size_t { return count == 1 ? 0 : l; };  // one slot: every layer's
  const size_t k = slot(n.insides), kc = slot(n.cheap), km = slot(n.mlp_pre), kg = slot(n.mlp_post);
  Activations& a = acts_;
  return LayerActs{l == 0 ? a.encoded : a.residual3 + (l - 1) * btc,
                   a.ln1 + kc * btc,
                   a.ln1_mean + k * BT,
                   a.ln1_rstd + k * BT,
                   a.qkv + k * BT * QKV,
                   a.qkv_pre + k * BT * QK,
                   a.qk_rstd + k * BT * QKH,
                   a.atty + kc * BT * Q,
                   a.att_lse + k * B_ * cfg_.n_head * T_,
                   a.residual2 + k * btc,
                   a.ln2 + kc * btc,
                   a.ln2_mean + k * BT,
                   a.ln2_rstd + k * BT,
                   a.fch + km * BT * U,
                   a.fch_gelu + kg * BT * F,
                   a.residual3 + l * btc};
}

void Gpt::upload_inputs(const int32_t* inp, const int32_t* targets, const uint8_t* mask, const RowLayout& rows) {
  const int BT = B_ * T_, V = cfg_.vocab_size;
  for (int i = 0; i < BT; ++i)
    CF_CHECK(inp[i] >= 0 && inp[i] < V, "token id {} at position {} is outside the vocabulary (size {})", inp[i], i,
             V);
  if (rows.pos != nullptr)
    for (int i = 0; i < BT; ++i)
      CF_CHECK(rows.pos[i] >= 0 && rows.pos[i] < cfg_.n_ctx,
               "position id {} at position {} is outside the context (0..{})", rows.pos[i], i, cfg_.n_ctx - 1);
  ops::Backend& be = *backend_;
  const size_t ids = static_cast<size_t>(BT) * sizeof(int32_t);
  be.upload(inp_, inp, ids);
  if (targets != nullptr) {
    for (int i = 0; i < BT; ++i)
      CF_CHECK((mask != nullptr && mask[i] == 0) || (targets[i] >= 0 && targets[i] < V),
               "target id {} at position {} is outside the vocabulary (size {})", targets[i], i, V);
    be.upload(targets_, targets, ids);
  }
  if (mask != nullptr) be.upload(mask_, mask, BT);
  if (rows.doc != nullptr) be.upload(doc_, rows.doc, ids);
  if (rows.pos != nullptr) {
    be.upload(pos_, rows.pos, ids);
  } else if (cfg_.llama() || stored_) {  // rotary angles (and a stored embedding's rows) need positions: 0..T-1
    std::vector<int32_t> pos(static_cast<size_t>(BT));
    for (int i = 0; i < BT; ++i) pos[i] = i % T_;
    be.upload(pos_, pos.data(), ids);
  }
  has_targets_ = targets != nullptr;
  has_mask_ = mask != nullptr;
  has_doc_ = rows.doc != nullptr;
  has_pos_ = rows.pos != nullptr;
}

void Gpt::norm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b) {
  const int N = B_ * T_, C = cfg_.n_embd;
  if (cfg_.llama())
    backend_->rmsnorm_forward(out, rstd, inp, w, N, 1, C, C, static_cast<float>(cfg_.norm_eps));
  else
    backend_->layernorm_forward(out, mean, rstd, inp, w, b, N, C);
}

void Gpt::norm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                        const float* mean, const float* rstd) {
  const int N = B_ * T_, C = cfg_.n_embd;
  if (cfg_.llama())
    backend_->rmsnorm_backward(dinp, dw, dout, inp, w, rstd, N, 1, C, C, /*accumulate=*/true);
  else
    backend_->layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
}

void Gpt::lora_add(int l, LoraSite site, float* out, int ld, const float* x) {
  if (lora_ != nullptr) lora_->forward(l, site, out, ld, x, B_ * T_);
}

void Gpt::lora_grad(int l, LoraSite site, float* dx, const float* dout, int ld, const float* x) {
  if (lora_ != nullptr) lora_->backward(l, site, dx, dout, ld, x, B_ * T_);
}

void Gpt::layer_forward(int l) { cfg_.llama() ? llama_layer_forward(l) : gpt2_layer_forward(l); }
void Gpt::layer_backward(int l) { cfg_.llama() ? llama_layer_backward(l) : gpt2_layer_backward(l); }

void Gpt::gpt2_layer_forward(int l) {
  ops::Backend& be = *backend_;
  const int B = B_, T = T_, C = cfg_.n_embd, NH = cfg_.n_head, BT = B * T;
  const size_t btc = static_cast<size_t>(BT) * C, lc = static_cast<size_t>(l) * C;
  const GptParams w = base_views();
  const LayerActs a = layer_acts(l);
  const int32_t* doc = has_doc_ ? doc_ : nullptr;
  // x = x + attn(ln_1(x))
  be.layernorm_forward(a.ln1, a.ln1_mean, a.ln1_rstd, a.residual, w.ln1w + lc, w.ln1b + lc, BT, C);
  proj_forward(LoraSite::kQkv, l, a.qkv, a.ln1, w.qkvb + lc * 3);
  lora_add(l, LoraSite::kQkv, a.qkv, 3 * C, a.ln1);
  be.attention_forward(a.atty, a.att_lse, a.qkv, doc, B, T, NH, NH, C / NH);
  proj_forward(LoraSite::kAttnOut, l, a.residual2, a.atty, w.attprojb + lc);
  lora_add(l, LoraSite::kAttnOut, a.residual2, C, a.atty);
  be.residual_forward(a.residual2, a.residual2, a.residual, btc);
  // x = x + mlp(ln_2(x))
  be.layernorm_forward(a.ln2, a.ln2_mean, a.ln2_rstd, a.residual2, w.ln2w + lc, w.ln2b + lc, BT, C);
  mlp_up_forward(l, a);
  proj_forward(LoraSite::kMlpDown, l, a.residual3, a.fch_gelu, w.fcprojb + lc);
  lora_add(l, LoraSite::kMlpDown, a.residual3, C, a.fch_gelu);
  be.residual_forward(a.residual3, a.residual3, a.residual2, btc);
}

void Gpt::llama_layer_forward(int l) {
  ops::Backend& be = *backend_;
  const int B = B_, T = T_, C = cfg_.n_embd, NH = cfg_.n_head, NKV = cfg_.kv_heads(), HS = cfg_.head_size();
  const int QKV = cfg_.qkv_dim(), Q = cfg_.q_dim(), KV = cfg_.kv_dim(), BT = B * T;
  const size_t btc = static_cast<size_t>(BT) * C, L = l, lc = L * C;
  const float eps = static_cast<float>(cfg_.norm_eps);
  const GptParams w = base_views();
  const LayerActs a = layer_acts(l);
  const int32_t* doc = has_doc_ ? doc_ : nullptr;
  // x = x + o_proj(attention(rope(qk_norm(qkv_proj(rmsnorm(x))))))
  be.rmsnorm_forward(a.ln1, a.ln1_rstd, a.residual, w.ln1w + lc, BT, 1, C, C, eps);
  const float* qkvb = w.qkvb != nullptr ? w.qkvb + L * QKV : nullptr;
  if (cfg_.qk_norm) {  // Qwen3: RMSNorm of every q and k head (kept: backward needs the input)
    proj_forward(LoraSite::kQkv, l, a.qkv_pre, a.ln1, qkvb);
    lora_add(l, LoraSite::kQkv, a.qkv_pre, QKV, a.ln1);
    be.rmsnorm_forward(a.qkv, a.qk_rstd, a.qkv_pre, w.qnormw + L * HS, BT, NH, HS, QKV, eps);
    be.rmsnorm_forward(a.qkv + Q, a.qk_rstd + static_cast<size_t>(BT) * NH, a.qkv_pre + Q, w.knormw + L * HS, BT, NKV,
                       HS, QKV, eps);
    const size_t pitch = static_cast<size_t>(QKV) * sizeof(float);
    be.copy_rows(a.qkv + Q + KV, pitch, a.qkv_pre + Q + KV, pitch, static_cast<size_t>(KV) * sizeof(float), BT);
  } else {
    proj_forward(LoraSite::kQkv, l, a.qkv, a.ln1, qkvb);
    lora_add(l, LoraSite::kQkv, a.qkv, QKV, a.ln1);
  }
  be.rope_forward(a.qkv, pos_, rope_freq_.data(), rope_scale_, BT, NH + NKV, HS, QKV);  // q heads, then k heads
  be.attention_forward(a.atty, a.att_lse, a.qkv, doc, B, T, NH, NKV, HS);
  proj_forward(LoraSite::kAttnOut, l, a.residual2, a.atty, w.attprojb != nullptr ? w.attprojb + lc : nullptr);
  lora_add(l, LoraSite::kAttnOut, a.residual2, C, a.atty);
  be.residual_forward(a.residual2, a.residual2, a.residual, btc);
  // x = x + down_proj(silu(gate_proj(h)) * up_proj(h)), h = rmsnorm(x)
  be.rmsnorm_forward(a.ln2, a.ln2_rstd, a.residual2, w.ln2w + lc, BT, 1, C, C, eps);
  mlp_up_forward(l, a);
  proj_forward(LoraSite::kMlpDown, l, a.residual3, a.fch_gelu, nullptr);
  lora_add(l, LoraSite::kMlpDown, a.residual3, C, a.fch_gelu);
  be.residual_forward(a.residual3, a.residual3, a.residual2, btc);
}

void Gpt::mlp_up_forward(int l, const LayerActs& a) {
  ops::Backend& be = *backend_;
  const int BT = B_ * T_, C = cfg_.n_embd, F = cfg_.ffn(), U = cfg_.ffn_up_rows();
  const GptParams w = base_views();
  const float* bias = w.fcb != nullptr ? w.fcb + static_cast<size_t>(l) * U : nullptr;
  const bool adapter = lora_ != nullptr && lora_->has(l, LoraSite::kMlpUp);
  if (!cfg_.llama() && !adapter && !stored_) {  // GPT-2, plain fp32 W: the GELU fused into the matmul
    be.fused_matmul_forward(a.fch_gelu, a.fch, a.ln2, w.fcw + static_cast<size_t>(l) * U * C, bias, BT, C, U,
                            ops::Activation::kGelu);
    return;
  }
  proj_forward(LoraSite::kMlpUp, l, a.fch, a.ln2, bias);
  lora_add(l, LoraSite::kMlpUp, a.fch, U, a.ln2);
  if (cfg_.llama())
    be.swiglu_forward(a.fch_gelu, a.fch, BT, F);  // silu(gate) * up
  else
    be.gelu_forward(a.fch_gelu, a.fch, static_cast<size_t>(BT) * F);
}

void Gpt::run_forward(bool head) {
  const int BT = B_ * T_, L = cfg_.n_layer, C = cfg_.n_embd;
  const GptParams w = base_views();
  Activations& a = acts_;
  embed_forward();  // x = wte[inp] + wpe[pos] (rotary models: wte[inp])
  if (lora_ != nullptr) lora_->begin_forward(BT);
  for (int l = 0; l < L; ++l) layer_forward(l);
  const float* last = a.residual3 + static_cast<size_t>(L - 1) * BT * C;
  norm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, last, w.lnfw, w.lnfb);
  if (!head) return;
  // logits = norm_f(x) @ head^T (tied: the token embedding); padded rows of the head are zero
  ensure_logits(BT);
  head_forward(a.logits, a.lnf, BT);
}

void Gpt::forward(const int32_t* inp, int B, int T, const RowLayout& rows) {
  ensure_activations(B, T);
  upload_inputs(inp, nullptr, nullptr, rows);
  run_forward(true);
}

double Gpt::forward_loss(const int32_t* inp, const int32_t* targets, const uint8_t* mask, int B, int T,
                         const RowLayout& rows) {
  ensure_activations(B, T);
  upload_inputs(inp, targets, mask, rows);
  head_grad_ready_ = false;
  if (chunked_loss_) {
    run_forward(false);
    return chunked_forward_loss();  // gpt_loss.cpp
  }
  run_forward(true);
  return backend_->crossentropy_forward(acts_.losses, acts_.lse, acts_.logits, targets_, has_mask_ ? mask_ : nullptr,
                                        B * T, cfg_.vocab_size, cfg_.padded_vocab_size());
}

void Gpt::gpt2_layer_backward(int l) {
  ops::Backend& be = *backend_;
  const int B = B_, T = T_, C = cfg_.n_embd, NH = cfg_.n_head, BT = B * T;
  const size_t btc = static_cast<size_t>(BT) * C, lc = static_cast<size_t>(l) * C;
  const GptParams w = base_views();
  const GptParams g = grad_views();  // all null when the base is frozen: no weight gradients
  const BackwardScratch& s = scratch_;
  const LayerActs a = layer_acts(l);
  // forward was: residual3 = residual2 + fcproj(gelu(fc(ln2(residual2))) (+ LoRA));
  // dresidual (= d residual3) flows into residual2 unchanged, plus through the MLP.
  proj_backward(LoraSite::kMlpDown, l, s.dfch, at(g.fcprojw, lc * 4 * C), at(g.fcprojb, lc), s.dresidual, a.fch_gelu);
  lora_grad(l, LoraSite::kMlpDown, s.dfch, s.dresidual, C, a.fch_gelu);
  be.gelu_backward(s.dfch, a.fch, s.dfch, btc * 4);
  proj_backward(LoraSite::kMlpUp, l, s.dln, at(g.fcw, lc * 4 * C), at(g.fcb, lc * 4), s.dfch, a.ln2);
  lora_grad(l, LoraSite::kMlpUp, s.dln, s.dfch, 4 * C, a.ln2);
  be.layernorm_backward(s.dresidual, norm_grad(g.ln2w, lc), norm_bias_grad(g.ln2b, lc), s.dln, a.residual2,
                        w.ln2w + lc, a.ln2_mean, a.ln2_rstd, BT, C);
  // forward was: residual2 = residual + attproj(attention(qkv(ln1(residual)))) (each + LoRA)
  proj_backward(LoraSite::kAttnOut, l, s.dln, at(g.attprojw, lc * C), at(g.attprojb, lc), s.dresidual, a.atty);
  lora_grad(l, LoraSite::kAttnOut, s.dln, s.dresidual, C, a.atty);
  be.attention_backward(s.dqkv, s.dln, a.qkv, a.atty, a.att_lse, has_doc_ ? doc_ : nullptr, B, T, NH, NH, C / NH);
  proj_backward(LoraSite::kQkv, l, s.dln, at(g.qkvw, lc * 3 * C), at(g.qkvb, lc * 3), s.dqkv, a.ln1);
  lora_grad(l, LoraSite::kQkv, s.dln, s.dqkv, 3 * C, a.ln1);
  be.layernorm_backward(s.dresidual, norm_grad(g.ln1w, lc), norm_bias_grad(g.ln1b, lc), s.dln, a.residual,
                        w.ln1w + lc, a.ln1_mean, a.ln1_rstd, BT, C);
}

void Gpt::llama_layer_backward(int l) {
  ops::Backend& be = *backend_;
  const int B = B_, T = T_, C = cfg_.n_embd, NH = cfg_.n_head, NKV = cfg_.kv_heads(), HS = cfg_.head_size();
  const int QKV = cfg_.qkv_dim(), Q = cfg_.q_dim(), F = cfg_.ffn(), BT = B * T;
  const size_t L = l, lc = L * C;
  const GptParams w = base_views();
  const GptParams g = grad_views();  // all null when the base is frozen: no weight gradients
  const BackwardScratch& s = scratch_;
  const LayerActs a = layer_acts(l);
  // forward was: residual3 = residual2 + down(swiglu(gate_up(rmsnorm(residual2)))) (each + LoRA)
  proj_backward(LoraSite::kMlpDown, l, s.dact, at(g.fcprojw, lc * F), nullptr, s.dresidual, a.fch_gelu);
  lora_grad(l, LoraSite::kMlpDown, s.dact, s.dresidual, C, a.fch_gelu);
  be.swiglu_backward(s.dfch, a.fch, s.dact, BT, F);
  proj_backward(LoraSite::kMlpUp, l, s.dln, at(g.fcw, lc * 2 * F), nullptr, s.dfch, a.ln2);
  lora_grad(l, LoraSite::kMlpUp, s.dln, s.dfch, 2 * F, a.ln2);
  be.rmsnorm_backward(s.dresidual, norm_grad(g.ln2w, lc), s.dln, a.residual2, w.ln2w + lc, a.ln2_rstd, BT, 1, C, C,
                      true);
  // forward was: residual2 = residual + o_proj(attention(rope(qk_norm(qkv_proj(rmsnorm(residual)))))) (+ LoRA)
  proj_backward(LoraSite::kAttnOut, l, s.dln, at(g.attprojw, lc * Q), at(g.attprojb, lc), s.dresidual, a.atty);
  lora_grad(l, LoraSite::kAttnOut, s.dln, s.dresidual, C, a.atty);
  be.attention_backward(s.dqkv, s.dln, a.qkv, a.atty, a.att_lse, has_doc_ ? doc_ : nullptr, B, T, NH, NKV, HS);
  be.rope_backward(s.dqkv, pos_, rope_freq_.data(), rope_scale_, BT, NH + NKV, HS, QKV);
  if (cfg_.qk_norm) {  // in place on the q and k parts of dqkv
    be.rmsnorm_backward(s.dqkv, norm_grad(g.qnormw, L * HS), s.dqkv, a.qkv_pre, w.qnormw + L * HS, a.qk_rstd, BT, NH,
                        HS, QKV, false);
    be.rmsnorm_backward(s.dqkv + Q, norm_grad(g.knormw, L * HS), s.dqkv + Q, a.qkv_pre + Q, w.knormw + L * HS,
                        a.qk_rstd + static_cast<size_t>(BT) * NH, BT, NKV, HS, QKV, false);
  }
  proj_backward(LoraSite::kQkv, l, s.dln, at(g.qkvw, L * QKV * C), at(g.qkvb, L * QKV), s.dqkv, a.ln1);
  lora_grad(l, LoraSite::kQkv, s.dln, s.dqkv, QKV, a.ln1);
  be.rmsnorm_backward(s.dresidual, norm_grad(g.ln1w, lc), s.dln, a.residual, w.ln1w + lc, a.ln1_rstd, BT, 1, C, C,
                      true);
}

void Gpt::recompute_cheap(int l) {
  // Under a frozen base only an adapter reads a projection's input in backward (no weight
  // gradient): the norm outputs and the MLP activation are redone where one is attached,
  // and the attention output always (attention's backward reads it; it costs no weight
  // matmul), with forward's kernels on forward's inputs (bit-identical to what forward
  // computed). Under Recompute::kMlp the MLP's first matmul is redone next
  // (mlp_up_forward): it reads ln2 whatever the adapters, and redoes the activation itself.
  const bool mlp = acts_recompute_ == Recompute::kMlp;
  ops::Backend& be = *backend_;
  const size_t BT = static_cast<size_t>(B_) * T_, lc = static_cast<size_t>(l) * cfg_.n_embd;
  const GptParams w = base_views();
  const LayerActs a = layer_acts(l);
  const auto has = [&](LoraSite site) { return lora_ != nullptr && lora_->has(l, site); };
  if (has(LoraSite::kQkv))
    norm_forward(a.ln1, a.ln1_mean, a.ln1_rstd, a.residual, w.ln1w + lc, w.ln1b != nullptr ? w.ln1b + lc : nullptr);
  // attention over the kept q | k | v (rotated, and normed for Qwen3), as forward ran it
  be.attention_forward(a.atty, a.att_lse, a.qkv, has_doc_ ? doc_ : nullptr, B_, T_, cfg_.n_head, cfg_.kv_heads(),
                       cfg_.head_size());
  if (has(LoraSite::kMlpUp) || mlp)
    norm_forward(a.ln2, a.ln2_mean, a.ln2_rstd, a.residual2, w.ln2w + lc, w.ln2b != nullptr ? w.ln2b + lc : nullptr);
  if (mlp || !has(LoraSite::kMlpDown)) return;
  if (cfg_.llama())
    be.swiglu_forward(a.fch_gelu, a.fch, static_cast<int>(BT), cfg_.ffn());
  else
    be.gelu_forward(a.fch_gelu, a.fch, BT * cfg_.ffn());
}

void Gpt::backward(float dloss) {
  CF_CHECK(B_ > 0 && has_targets_, "backward needs a forward_loss first");
  backward_from_head([&] { head_backward(dloss, nullptr); });
}

void Gpt::backward(const std::vector<float>& dloss) {
  CF_CHECK(B_ > 0 && has_targets_, "backward needs a forward_loss first");
  const size_t BT = static_cast<size_t>(B_) * T_;
  CF_CHECK(dloss.size() == BT, "backward: {} token weights for {} tokens", dloss.size(), BT);
  backward_from_head([&] { head_backward(0.0f, &dloss); });
}

std::vector<float> Gpt::token_losses() const {
  CF_CHECK(B_ > 0 && has_targets_, "token_losses needs a forward_loss first");
  std::vector<float> out(static_cast<size_t>(B_) * T_);
  backend_->download(out.data(), acts_.losses, out.size() * sizeof(float));
  return out;
}

void Gpt::backward_from_head(const std::function<void()>& head_grad) {
  ensure_scratch();
  ops::Backend& be = *backend_;
  const int B = B_, T = T_, L = cfg_.n_layer, C = cfg_.n_embd, BT = B * T;
  const size_t btc = static_cast<size_t>(BT) * C;
  const GptParams w = base_views();
  const GptParams g = grad_views();
  Activations& a = acts_;
  const BackwardScratch& s = scratch_;

  head_grad();  // s.dln = d(loss)/d(lnf) (gpt_loss.cpp)
  // forward was: lnf = norm(residual3[L-1]); the stream gradient starts here
  be.zero(s.dresidual, btc * sizeof(float));
  norm_backward(s.dresidual, norm_grad(g.lnfw, 0), norm_bias_grad(g.lnfb, 0), s.dln, a.residual3 + (L - 1) * btc, w.lnfw, a.lnf_mean, a.lnf_rstd);
  for (int l = L - 1; l >= 0; --l) {
    // Recompute: the layer's insides again from its kept input (the same kernels on the
    // same inputs: bit-identical to the first forward), into the one working slot.
    if (acts_recompute_ == Recompute::kAll) {
      layer_forward(l);
    } else {
      if (acts_lean_) recompute_cheap(l);
      if (acts_recompute_ == Recompute::kMlp) mlp_up_forward(l, layer_acts(l));  // after ln2's redo
    }
    layer_backward(l);
    if (on_layer_grads_done) on_layer_grads_done(l);
  }
  // forward was: encoded = wte[inp] + wpe[pos] (rotary models: wte[inp])
  if (!frozen_) be.encoder_backward(g.wte, g.wpe, s.dresidual, inp_, has_pos_ ? pos_ : nullptr, B, T, C);
}

std::vector<float> Gpt::logits_row(int b, int t) const {
  CF_CHECK(b >= 0 && b < B_ && t >= 0 && t < T_, "logits row ({}, {}) outside the last batch ({} x {})", b, t, B_, T_);
  CF_CHECK(logits_rows_ == static_cast<size_t>(B_) * T_, "logits row: the last pass kept no logits (chunked loss)");
  std::vector<float> row(cfg_.vocab_size);
  backend_->download(row.data(), acts_.logits + (static_cast<size_t>(b) * T_ + t) * cfg_.padded_vocab_size(),
                     row.size() * sizeof(float));
  return row;
}

std::unique_ptr<Gpt> to_backend(std::unique_ptr<Gpt> model, std::shared_ptr<ops::Backend> backend) {
  if (!backend || backend.get() == &model->backend()) return model;
  if (backend->host_memory() && model->backend().host_memory()) {  // CPU fp32 <-> bf16: the same memory
    model->rebind_host_backend(std::move(backend));
    return model;
  }
  CF_CHECK(!model->stored_base(), "a model whose base is held in {} stays on the CPU (the {} backend reads fp32 "
           "weights only)", ops::weight_format_name(model->base_format()), backend->name());
  auto out = std::make_unique<Gpt>(model->config(), std::move(backend));
  std::memcpy(out->params().data(), model->params().data(), model->params().bytes());
  model.reset();  // the old copy's memory before the new device copy is filled
  out->push_params();
  return out;
}

double Gpt::flops_per_token(int T) const {
  // 6 flops per parameter per token (2 forward, 4 backward) for every matmul weight,
  // including the output head (Vp x C); plus attention scores and weighted sums: forward
  // 2 * 2 * T * Q per layer per token (Q = NH * HS), backward twice that. This counts the
  // full T x T (the PaLM/llm.c convention, so MFU compares with other trainers); the blocked
  // kernel skips the masked upper blocks, so it does somewhat less work than counted.
  const double C = cfg_.n_embd, L = cfg_.n_layer, Vp = cfg_.padded_vocab_size();
  const double QKV = cfg_.qkv_dim(), Q = cfg_.q_dim(), U = cfg_.ffn_up_rows(), F = cfg_.ffn();
  const double matmul_params = L * (C * QKV + Q * C + U * C + F * C) + Vp * C;
  return 6.0 * matmul_params + L * 12.0 * T * Q;
}

}  // namespace chatforge::model
