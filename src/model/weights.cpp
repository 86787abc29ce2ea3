// Implementation of weights.h.
#include "model/weights.h"

#include <fmt/format.h>

#include "core/error.h"

namespace chatforge::model {

ParamLayout::ParamLayout(const GptConfig& cfg) {
  const int64_t L = cfg.n_layer, C = cfg.n_embd, Vp = cfg.padded_vocab_size(), maxT = cfg.n_ctx;
  auto add = [&](const char* name, Shape shape, ParamKind kind, bool per_layer, const char* hf, bool tr,
                 const char* gguf, bool quantizable) {
    ParamTensor t;
    t.name = name;
    t.shape = shape;
    t.offset = total_;
    t.kind = kind;
    t.per_layer = per_layer;
    t.hf_name = hf;
    t.hf_transposed = tr;
    t.gguf_name = gguf;
    t.gguf_quantizable = quantizable;
    total_ += t.numel();
    tensors_.push_back(std::move(t));
  };
  using K = ParamKind;
  // name, shape, kind, per layer, HF name, HF Conv1D (transposed), GGUF name, GGUF quantizable
  add("wte", {Vp, C}, K::kEmbedding, false, "transformer.wte.weight", false, "token_embd.weight", true);
  add("wpe", {maxT, C}, K::kEmbedding, false, "transformer.wpe.weight", false, "position_embd.weight", false);
  add("ln1w", {L, C}, K::kNormWeight, true, "transformer.h.{}.ln_1.weight", false, "blk.{}.attn_norm.weight", false);
  add("ln1b", {L, C}, K::kNormBias, true, "transformer.h.{}.ln_1.bias", false, "blk.{}.attn_norm.bias", false);
  add("qkvw", {L, 3 * C, C}, K::kMatmulWeight, true, "transformer.h.{}.attn.c_attn.weight", true,
      "blk.{}.attn_qkv.weight", true);
  add("qkvb", {L, 3 * C}, K::kBias, true, "transformer.h.{}.attn.c_attn.bias", false, "blk.{}.attn_qkv.bias", false);
  add("attprojw", {L, C, C}, K::kMatmulWeight, true, "transformer.h.{}.attn.c_proj.weight", true,
      "blk.{}.attn_output.weight", true);
  add("attprojb", {L, C}, K::kBias, true, "transformer.h.{}.attn.c_proj.bias", false, "blk.{}.attn_output.bias", false);
  add("ln2w", {L, C}, K::kNormWeight, true, "transformer.h.{}.ln_2.weight", false, "blk.{}.ffn_norm.weight", false);
  add("ln2b", {L, C}, K::kNormBias, true, "transformer.h.{}.ln_2.bias", false, "blk.{}.ffn_norm.bias", false);
  add("fcw", {L, 4 * C, C}, K::kMatmulWeight, true, "transformer.h.{}.mlp.c_fc.weight", true, "blk.{}.ffn_up.weight",
      true);
  add("fcb", {L, 4 * C}, K::kBias, true, "transformer.h.{}.mlp.c_fc.bias", false, "blk.{}.ffn_up.bias", false);
  add("fcprojw", {L, C, 4 * C}, K::kMatmulWeight, true, "transformer.h.{}.mlp.c_proj.weight", true,
      "blk.{}.ffn_down.weight", true);
  add("fcprojb", {L, C}, K::kBias, true, "transformer.h.{}.mlp.c_proj.bias", false, "blk.{}.ffn_down.bias", false);
  add("lnfw", {C}, K::kNormWeight, false, "transformer.ln_f.weight", false, "output_norm.weight", false);
  add("lnfb", {C}, K::kNormBias, false, "transformer.ln_f.bias", false, "output_norm.bias", false);
}

const ParamTensor& ParamLayout::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return t;
  fail("internal error: no parameter tensor '{}'", name);
}

GptParams ParamLayout::views(float* base) const {
  auto at = [&](const char* n) { return base + find(n).offset; };
  return GptParams{at("wte"),  at("wpe"),     at("ln1w"), at("ln1b"), at("qkvw"),    at("qkvb"),
                   at("attprojw"), at("attprojb"), at("ln2w"), at("ln2b"), at("fcw"), at("fcb"),
                   at("fcprojw"), at("fcprojb"), at("lnfw"), at("lnfb")};
}

std::vector<ParamSlice> param_slices(const GptConfig& cfg, const ParamLayout& layout) {
  std::vector<ParamSlice> out;
  for (const auto& t : layout.tensors()) {
    const int nl = t.per_layer ? static_cast<int>(t.shape[0]) : 1;
    const int64_t per = static_cast<int64_t>(t.numel()) / nl;
    const Shape& s = t.shape;
    const int inner_dims = s.ndim - (t.per_layer ? 1 : 0);
    for (int l = 0; l < nl; ++l) {
      ParamSlice h;
      h.tensor = &t;
      h.layer = t.per_layer ? l : -1;
      h.hf_name = t.per_layer ? fmt::format(fmt::runtime(t.hf_name), l) : t.hf_name;
      h.gguf_name = t.per_layer ? fmt::format(fmt::runtime(t.gguf_name), l) : t.gguf_name;
      h.offset = t.offset + static_cast<size_t>(l) * per;
      if (inner_dims == 2) {
        h.rows = s[s.ndim - 2];
        h.cols = s[s.ndim - 1];
      } else {
        h.rows = s[s.ndim - 1];
        h.cols = 1;
      }
      if (t.name == "wte") h.rows = cfg.vocab_size;  // the padding rows are ours alone
      h.hf_transposed = t.hf_transposed;
      if (inner_dims == 2)
        h.hf_shape = h.hf_transposed ? std::vector<int64_t>{h.cols, h.rows} : std::vector<int64_t>{h.rows, h.cols};
      else
        h.hf_shape = {h.rows};
      out.push_back(std::move(h));
    }
  }
  return out;
}

void export_hf(const ParamSlice& t, const float* arena, float* hf_out) {
  const float* src = arena + t.offset;
  if (!t.hf_transposed) {
    std::copy(src, src + t.rows * t.cols, hf_out);
    return;
  }
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t c = 0; c < t.cols; ++c) hf_out[c * t.rows + r] = src[r * t.cols + c];
}

void import_hf(const ParamSlice& t, const float* hf_in, float* arena) {
  float* dst = arena + t.offset;
  if (!t.hf_transposed) {
    std::copy(hf_in, hf_in + t.rows * t.cols, dst);
    return;
  }
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t c = 0; c < t.cols; ++c) dst[r * t.cols + c] = hf_in[c * t.rows + r];
}

}  // namespace chatforge::model
