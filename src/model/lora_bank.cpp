// Implementation of lora_bank.h: per-row-run adapter deltas with the backend's ops (so the
// same code runs on the CPU and on a device), the scale folded into x A^T.
#include "model/lora_bank.h"

#include <algorithm>

#include "core/error.h"
#include "model/lora_io.h"

namespace chatforge::model {

LoraBank::LoraBank(const Gpt& model) : cfg_(model.config()), backend_(model.shared_backend()) {}

int LoraBank::load(const std::string& name, const std::string& dir, float scale) {
  return add(name, load_adapter(dir, cfg_, backend_), scale);
}

int LoraBank::add(const std::string& name, std::unique_ptr<Lora> lora, float scale) {
  CF_CHECK(!name.empty(), "a LoRA adapter needs a name");
  CF_CHECK(find(name) < 0, "two LoRA adapters are named '{}'", name);
  CF_CHECK(lora != nullptr, "LoRA adapter '{}' is empty", name);
  const GptConfig& c = lora->model_config();
  CF_CHECK(c.model_type == cfg_.model_type && c.n_layer == cfg_.n_layer && c.n_embd == cfg_.n_embd &&
               c.qkv_dim() == cfg_.qkv_dim() && c.ffn() == cfg_.ffn(),
           "LoRA adapter '{}' was made for another base ({} L{} C{}, this is {} L{} C{})", name, c.model_type,
           c.n_layer, c.n_embd, cfg_.model_type, cfg_.n_layer, cfg_.n_embd);
  CF_CHECK(&lora->backend() == backend_.get(), "LoRA adapter '{}' is on another backend than its base", name);
  Entry e;
  e.name = name;
  e.scale = scale * lora->config().scale();
  e.site_modules.assign(static_cast<size_t>(cfg_.n_layer) * kLoraSites, {});
  for (size_t mi = 0; mi < lora->modules().size(); ++mi) {
    const LoraModule& m = lora->modules()[mi];
    e.site_modules[static_cast<size_t>(m.layer) * kLoraSites + static_cast<int>(m.target.site)].push_back(mi);
  }
  e.lora = std::move(lora);
  adapters_.push_back(std::move(e));
  return size() - 1;
}

int LoraBank::find(const std::string& name) const {
  for (int i = 0; i < size(); ++i)
    if (adapters_[i].name == name) return i;
  return -1;
}

float* LoraBank::scratch(size_t floats) const {
  if (scratch_.bytes() < floats * sizeof(float)) {
    scratch_ = ops::Buffer();
    scratch_.reset(*backend_, floats * sizeof(float));
  }
  return scratch_.data();
}

void LoraBank::apply(int layer, LoraSite site, float* out, int ld, const float* x,
                     const std::vector<LoraRowRun>& runs) const {
  ops::Backend& be = *backend_;
  const size_t idx = static_cast<size_t>(layer) * kLoraSites + static_cast<int>(site);
  for (const LoraRowRun& run : runs) {
    const Entry& e = adapters_.at(run.adapter);
    const int r = e.lora->config().rank;
    const float* p = e.lora->device_params();
    const size_t n = static_cast<size_t>(run.n);
    for (size_t mi : e.site_modules[idx]) {
      const LoraModule& m = e.lora->modules()[mi];
      const int in = static_cast<int>(m.target.in), rows = static_cast<int>(m.target.rows);
      float* us = scratch(n * r + 2 * n * rows + 64);  // (n, r)
      float* delta = us + (n * r + 15) / 16 * 16;      // (n, rows)
      float* part = delta + n * rows;                  // (n, rows)
      // us = scale * x A^T: (n, in) x (r, in)^T -> (n, r)
      be.matmul_forward(us, x + static_cast<size_t>(run.row0) * in, p + m.a_off, nullptr, run.n, in, r);
      be.scale_inplace(us, n * r, e.scale);
      // delta = us B^T: (n, r) x (rows, r)^T -> (n, rows), added to columns [row0, row0 + rows) of out
      be.matmul_forward(delta, us, p + m.b_off, nullptr, run.n, r, rows);
      float* o = out + static_cast<size_t>(run.row0) * ld;
      if (rows == ld) {
        be.residual_forward(o, o, delta, n * rows);
      } else {  // a row block of a fused projection (q/k/v, gate/up): gather, add, scatter
        const size_t pitch = static_cast<size_t>(ld) * sizeof(float), bytes = static_cast<size_t>(rows) * sizeof(float);
        be.copy_rows(part, bytes, o + m.target.row0, pitch, bytes, n);
        be.residual_forward(part, part, delta, n * rows);
        be.copy_rows(o + m.target.row0, pitch, part, bytes, bytes, n);
      }
    }
  }
}

}  // namespace chatforge::model
