// A LoRA adapter (model/lora.h, PEFT's format on disk) as a llama.cpp LoRA adapter GGUF, the
// file llama.cpp applies on top of its base model's GGUF (llama-cli --lora, node-llama-cpp's
// createContext({lora})). Metadata: general.type "adapter", adapter.type "lora",
// general.architecture = the base's llama.cpp architecture (gguf_architecture; llama.cpp
// refuses an adapter of another one), adapter.lora.alpha. Per adapted module two tensors
// named after the base tensor it adds to: "<base GGUF name>.lora_a" = A (r, in), ggml
// ne {in, r}, and ".lora_b" = B (out, r), ne {r, out}. llama.cpp computes
// W x + s * (alpha / r) * B (A x) with r = ne[0] of lora_b and s its --lora scale, which is
// PEFT's (and our) scale alpha / r: scale 1 there equals scale 1 here (rsLoRA's alpha is
// written as the alpha giving the same alpha / r). GPT-2's fused c_attn adapter is one
// pair on blk.N.attn_qkv.weight (PEFT's A and B are nn.Linear even for Conv1D layers, so
// fan_in_fan_out needs no transpose); Llama's q/k B rows are permuted per head like the base's
// q/k rows (gguf_layout.h). An adapter on rows that are not exactly one llama.cpp tensor
// cannot be applied there and is refused with an error naming the module.
#pragma once
#include <string>

#include "interop/gguf_export.h"
#include "model/lora.h"

namespace chatforge::interop {

// Writes the adapter GGUF atomically. type: F32 or F16 (A and B both); Q8_0 / Q4_0 are
// refused (a lora_b row holds only r values, not whole blocks of 32).
void export_gguf_lora(const std::string& path, const model::Lora& lora, GgufWeightType type,
                      const std::string& name);

// llama.cpp's base tensor name of one adapter module ("blk.3.attn_qkv.weight"); an Error
// when the module's rows are not one llama.cpp tensor.
std::string gguf_lora_base_name(const model::GptConfig& cfg, const model::LoraModule& m);

}  // namespace chatforge::interop
