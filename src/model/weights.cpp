// Implementation of weights.h.
#include "model/weights.h"

#include <fmt/format.h>

#include "core/error.h"

namespace chatforge::model {

namespace {

// The table builder: appends tensors in order, each at the running offset.
struct TableBuilder {
  std::vector<ParamTensor>& tensors;
  size_t& total;
  ParamTensor& add(const char* name, Shape shape, ParamKind kind, bool per_layer, const char* hf, bool transposed,
                   const char* gguf, bool quantizable) {
    ParamTensor t;
    t.name = name;
    t.shape = shape;
    t.offset = total;
    t.kind = kind;
    t.per_layer = per_layer;
    t.hf_name = hf;
    t.hf_transposed = transposed;
    t.gguf_name = gguf;
    t.gguf_quantizable = quantizable;
    total += t.numel();
    tensors.push_back(std::move(t));
    return tensors.back();
  }
};

void gpt2_table(const GptConfig& cfg, TableBuilder& b) {
  const int64_t L = cfg.n_layer, C = cfg.n_embd, Vp = cfg.padded_vocab_size(), maxT = cfg.n_ctx;
  using K = ParamKind;
  // name, shape, kind, per layer, HF name, HF Conv1D (transposed), GGUF name, GGUF quantizable
  b.add("wte", {Vp, C}, K::kEmbedding, false, "transformer.wte.weight", false, "token_embd.weight", true);
  b.add("wpe", {maxT, C}, K::kEmbedding, false, "transformer.wpe.weight", false, "position_embd.weight", false);
  b.add("ln1w", {L, C}, K::kNormWeight, true, "transformer.h.{}.ln_1.weight", false, "blk.{}.attn_norm.weight", false);
  b.add("ln1b", {L, C}, K::kNormBias, true, "transformer.h.{}.ln_1.bias", false, "blk.{}.attn_norm.bias", false);
  b.add("qkvw", {L, 3 * C, C}, K::kMatmulWeight, true, "transformer.h.{}.attn.c_attn.weight", true,
        "blk.{}.attn_qkv.weight", true);
  b.add("qkvb", {L, 3 * C}, K::kBias, true, "transformer.h.{}.attn.c_attn.bias", false, "blk.{}.attn_qkv.bias", false);
  b.add("attprojw", {L, C, C}, K::kMatmulWeight, true, "transformer.h.{}.attn.c_proj.weight", true,
        "blk.{}.attn_output.weight", true);
  b.add("attprojb", {L, C}, K::kBias, true, "transformer.h.{}.attn.c_proj.bias", false, "blk.{}.attn_output.bias",
        false);
  b.add("ln2w", {L, C}, K::kNormWeight, true, "transformer.h.{}.ln_2.weight", false, "blk.{}.ffn_norm.weight", false);
  b.add("ln2b", {L, C}, K::kNormBias, true, "transformer.h.{}.ln_2.bias", false, "blk.{}.ffn_norm.bias", false);
  b.add("fcw", {L, 4 * C, C}, K::kMatmulWeight, true, "transformer.h.{}.mlp.c_fc.weight", true,
        "blk.{}.ffn_up.weight", true);
  b.add("fcb", {L, 4 * C}, K::kBias, true, "transformer.h.{}.mlp.c_fc.bias", false, "blk.{}.ffn_up.bias", false);
  b.add("fcprojw", {L, C, 4 * C}, K::kMatmulWeight, true, "transformer.h.{}.mlp.c_proj.weight", true,
        "blk.{}.ffn_down.weight", true);
  b.add("fcprojb", {L, C}, K::kBias, true, "transformer.h.{}.mlp.c_proj.bias", false, "blk.{}.ffn_down.bias", false);
  b.add("lnfw", {C}, K::kNormWeight, false, "transformer.ln_f.weight", false, "output_norm.weight", false);
  b.add("lnfb", {C}, K::kNormBias, false, "transformer.ln_f.bias", false, "output_norm.bias", false);
}

// q_proj, k_proj and v_proj rows of a fused (QKV, ...) tensor. llama.cpp's LLAMA
// architecture rotates interleaved pairs, so its q and k rows are permuted per head on
// export (Qwen2/Qwen3 use the NEOX rotation: no permutation).
std::vector<ParamPart> qkv_parts(const GptConfig& cfg, const char* what) {
  const bool permute = cfg.model_type == "llama" || cfg.model_type == "mistral";
  const std::string p = std::string("model.layers.{}.self_attn.");
  return {{p + "q_proj." + what, std::string("blk.{}.attn_q.") + what, cfg.q_dim(), permute ? cfg.n_head : 0},
          {p + "k_proj." + what, std::string("blk.{}.attn_k.") + what, cfg.kv_dim(), permute ? cfg.kv_heads() : 0},
          {p + "v_proj." + what, std::string("blk.{}.attn_v.") + what, cfg.kv_dim(), 0}};
}

void llama_table(const GptConfig& cfg, TableBuilder& b) {
  const int64_t L = cfg.n_layer, C = cfg.n_embd, Vp = cfg.padded_vocab_size(), QKV = cfg.qkv_dim(), Q = cfg.q_dim();
  const int64_t HS = cfg.head_size(), F = cfg.ffn();
  using K = ParamKind;
  b.add("wte", {Vp, C}, K::kEmbedding, false, "model.embed_tokens.weight", false, "token_embd.weight", true);
  b.add("ln1w", {L, C}, K::kNormWeight, true, "model.layers.{}.input_layernorm.weight", false,
        "blk.{}.attn_norm.weight", false);
  b.add("qkvw", {L, QKV, C}, K::kMatmulWeight, true, "", false, "", true).parts = qkv_parts(cfg, "weight");
  if (cfg.qkv_bias) b.add("qkvb", {L, QKV}, K::kBias, true, "", false, "", false).parts = qkv_parts(cfg, "bias");
  if (cfg.qk_norm) {
    b.add("qnormw", {L, HS}, K::kNormWeight, true, "model.layers.{}.self_attn.q_norm.weight", false,
          "blk.{}.attn_q_norm.weight", false);
    b.add("knormw", {L, HS}, K::kNormWeight, true, "model.layers.{}.self_attn.k_norm.weight", false,
          "blk.{}.attn_k_norm.weight", false);
  }
  b.add("attprojw", {L, C, Q}, K::kMatmulWeight, true, "model.layers.{}.self_attn.o_proj.weight", false,
        "blk.{}.attn_output.weight", true);
  if (cfg.o_bias)
    b.add("attprojb", {L, C}, K::kBias, true, "model.layers.{}.self_attn.o_proj.bias", false, "blk.{}.attn_output.bias",
          false);
  b.add("ln2w", {L, C}, K::kNormWeight, true, "model.layers.{}.post_attention_layernorm.weight", false,
        "blk.{}.ffn_norm.weight", false);
  b.add("fcw", {L, 2 * F, C}, K::kMatmulWeight, true, "", false, "", true).parts = {
      {"model.layers.{}.mlp.gate_proj.weight", "blk.{}.ffn_gate.weight", F, 0},
      {"model.layers.{}.mlp.up_proj.weight", "blk.{}.ffn_up.weight", F, 0}};
  b.add("fcprojw", {L, C, F}, K::kMatmulWeight, true, "model.layers.{}.mlp.down_proj.weight", false,
        "blk.{}.ffn_down.weight", true);
  b.add("lnfw", {C}, K::kNormWeight, false, "model.norm.weight", false, "output_norm.weight", false);
  if (!cfg.tie_embeddings)
    b.add("lm_head", {Vp, C}, K::kMatmulWeight, false, "lm_head.weight", false, "output.weight", true);
}

}  // namespace

ParamLayout::ParamLayout(const GptConfig& cfg) {
  TableBuilder b{tensors_, total_};
  if (cfg.llama())
    llama_table(cfg, b);
  else
    gpt2_table(cfg, b);
}

const ParamTensor* ParamLayout::find_or_null(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const ParamTensor& ParamLayout::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return t;
  fail("internal error: no parameter tensor '{}'", name);
}

GptParams ParamLayout::views(float* base) const {
  return views([base](const ParamTensor& t) { return base + t.offset; });
}

GptParams ParamLayout::views(const std::function<float*(const ParamTensor&)>& fn) const {
  auto at = [&](const char* n) -> float* {
    const ParamTensor* t = find_or_null(n);
    return t != nullptr ? fn(*t) : nullptr;
  };
  return GptParams{at("wte"),     at("wpe"),  at("ln1w"), at("ln1b"), at("qkvw"),    at("qkvb"),    at("qnormw"),
                   at("knormw"),  at("attprojw"), at("attprojb"), at("ln2w"), at("ln2b"), at("fcw"), at("fcb"),
                   at("fcprojw"), at("fcprojb"), at("lnfw"), at("lnfb"), at("lm_head")};
}

std::vector<ParamSlice> param_slices(const GptConfig& cfg, const ParamLayout& layout) {
  std::vector<ParamSlice> out;
  for (const auto& t : layout.tensors()) {
    const int nl = t.per_layer ? static_cast<int>(t.shape[0]) : 1;
    const int64_t per = static_cast<int64_t>(t.numel()) / nl;
    const Shape& s = t.shape;
    const int inner_dims = s.ndim - (t.per_layer ? 1 : 0);
    const int64_t rows = inner_dims == 2 ? s[s.ndim - 2] : s[s.ndim - 1], cols = inner_dims == 2 ? s[s.ndim - 1] : 1;
    // one part per stored tensor: the whole slice, or its row blocks
    std::vector<ParamPart> parts = t.parts;
    if (parts.empty()) parts.push_back({t.hf_name, t.gguf_name, rows, 0});
    for (int l = 0; l < nl; ++l) {
      int64_t row0 = 0;
      for (const ParamPart& part : parts) {
        ParamSlice h;
        h.tensor = &t;
        h.layer = t.per_layer ? l : -1;
        h.hf_name = t.per_layer ? fmt::format(fmt::runtime(part.hf_name), l) : part.hf_name;
        h.gguf_name = t.per_layer ? fmt::format(fmt::runtime(part.gguf_name), l) : part.gguf_name;
        h.gguf_rope_heads = part.gguf_rope_heads;
        h.offset = t.offset + static_cast<size_t>(l) * per + static_cast<size_t>(row0 * cols);
        h.rows = part.rows;
        h.cols = cols;
        if (t.kind == ParamKind::kEmbedding && t.name == "wte") h.rows = cfg.vocab_size;  // padding rows are ours
        if (t.name == "lm_head") h.rows = cfg.vocab_size;
        h.hf_transposed = t.hf_transposed;
        if (inner_dims == 2)
          h.hf_shape = h.hf_transposed ? std::vector<int64_t>{h.cols, h.rows} : std::vector<int64_t>{h.rows, h.cols};
        else
          h.hf_shape = {h.rows};
        out.push_back(std::move(h));
        row0 += part.rows;
      }
    }
  }
  return out;
}

HfNames hf_names(const GptConfig& cfg) {
  if (cfg.llama()) return {"model.", "embed_tokens.weight", "layers."};
  return {"transformer.", "wte.weight", "h."};
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
