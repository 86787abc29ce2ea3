// Implementation of gguf_lora_export.h.
#include "interop/gguf_lora_export.h"

#include <fmt/format.h>

#include "core/error.h"
#include "interop/gguf_layout.h"
#include "model/weights.h"

namespace chatforge::interop {
namespace {

// The stacked tensor each LoRA site adds to (as merge_adapter folds it).
const char* site_tensor(model::LoraSite s) {
  switch (s) {
    case model::LoraSite::kQkv: return "qkvw";
    case model::LoraSite::kAttnOut: return "attprojw";
    case model::LoraSite::kMlpUp: return "fcw";
    case model::LoraSite::kMlpDown: return "fcprojw";
  }
  return "";
}

// The GGUF part (name pattern, rope heads) whose rows are exactly the module's rows.
const model::ParamPart* find_part(const model::ParamTensor& t, const model::LoraModule& m,
                                  model::ParamPart& whole) {
  if (t.parts.empty()) {
    whole = {t.hf_name, t.gguf_name, t.shape[1], 0};
    return m.target.row0 == 0 && m.target.rows == t.shape[1] ? &whole : nullptr;
  }
  int64_t row0 = 0;
  for (const model::ParamPart& p : t.parts) {
    if (row0 == m.target.row0 && p.rows == m.target.rows) return &p;
    row0 += p.rows;
  }
  return nullptr;
}

const model::ParamPart& part_of(const model::ParamLayout& layout, const model::LoraModule& m,
                                model::ParamPart& whole) {
  const model::ParamTensor& t = layout.find(site_tensor(m.target.site));
  const model::ParamPart* p = find_part(t, m, whole);
  CF_CHECK(p != nullptr,
           "GGUF adapter export: module {} adds to rows {}..{} of our {}, which are not one llama.cpp tensor "
           "(llama.cpp applies an adapter to a whole tensor only)",
           m.path, m.target.row0, m.target.row0 + m.target.rows, t.name);
  return *p;
}

}  // namespace

std::string gguf_lora_base_name(const model::GptConfig& cfg, const model::LoraModule& m) {
  const model::ParamLayout layout(cfg);
  model::ParamPart whole;
  return fmt::format(fmt::runtime(part_of(layout, m, whole).gguf_name), m.layer);
}

void export_gguf_lora(const std::string& path, const model::Lora& lora, GgufWeightType type,
                      const std::string& name) {
  CF_CHECK(type == GgufWeightType::F32 || type == GgufWeightType::F16,
           "GGUF adapter export: --type must be f32 or f16 for a LoRA adapter (a lora_b row of r = {} values "
           "cannot be stored in quantized blocks of 32)",
           lora.config().rank);
  const model::GptConfig& cfg = lora.model_config();
  const std::string arch = gguf_architecture(cfg);
  const model::ParamLayout layout(cfg);
  GgufWriter w;
  w.add_string("general.architecture", arch);
  w.add_string("general.type", "adapter");
  w.add_string("general.name", name);
  w.add_u32("general.file_type", gguf_file_type(type));
  w.add_u32("general.alignment", GgufWriter::kAlignment);
  w.add_string("adapter.type", "lora");
  // llama.cpp scales by alpha / ne[0](lora_b) = alpha / r: the same alpha gives our scale
  w.add_f32("adapter.lora.alpha", lora.config().alpha);
  const GgmlType g = type == GgufWeightType::F16 ? GgmlType::F16 : GgmlType::F32;
  const uint64_t r = static_cast<uint64_t>(lora.config().rank);
  const float* p = lora.params().data();
  std::vector<float> permuted;
  for (const model::LoraModule& m : lora.modules()) {
    model::ParamPart whole;
    const model::ParamPart& part = part_of(layout, m, whole);
    const std::string base = fmt::format(fmt::runtime(part.gguf_name), m.layer);
    const uint64_t in = static_cast<uint64_t>(m.target.in), rows = static_cast<uint64_t>(m.target.rows);
    const float* a = p + m.a_off;  // (r, in)
    const float* b = p + m.b_off;  // (rows, r)
    if (part.gguf_rope_heads > 0) {  // the output rows in llama.cpp's interleaved rope order, as the base's
      permuted.resize(rows * r);
      gguf_rope_permute(b, permuted.data(), m.target.rows, lora.config().rank, part.gguf_rope_heads);
      b = permuted.data();
    }
    w.add_tensor(base + ".lora_a", {in, r}, g, ggml_encode(g, a, r * in));
    w.add_tensor(base + ".lora_b", {r, rows}, g, ggml_encode(g, b, rows * r));
  }
  w.write(path);
}

}  // namespace chatforge::interop
