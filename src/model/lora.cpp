// Implementation of lora.h.
#include "model/lora.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace chatforge::model {
namespace {

// "transformer.h.{}.attn.c_attn.weight" -> "transformer.h.{}.attn.c_attn"
std::string module_path(const std::string& hf_weight_name) {
  const std::string suffix = ".weight";
  CF_CHECK(hf_weight_name.size() > suffix.size() &&
               hf_weight_name.compare(hf_weight_name.size() - suffix.size(), suffix.size(), suffix) == 0,
           "LoRA: parameter {} is not a weight", hf_weight_name);
  return hf_weight_name.substr(0, hf_weight_name.size() - suffix.size());
}

std::string last_name(const std::string& path) { return path.substr(path.rfind('.') + 1); }

// PEFT's rule: a target matches a module path equal to it or ending with "." + target.
bool matches(const std::string& path, const std::string& target) {
  if (path == target) return true;
  return path.size() > target.size() && path.compare(path.size() - target.size(), target.size(), target) == 0 &&
         path[path.size() - target.size() - 1] == '.';
}

std::string replace_layer(const std::string& pattern, int layer) {
  const size_t at = pattern.find("{}");
  return at == std::string::npos ? pattern : pattern.substr(0, at) + std::to_string(layer) + pattern.substr(at + 2);
}

uint64_t mix(uint64_t z) {  // splitmix64's finaliser
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<LoraTarget> lora_targets(const GptConfig& cfg) {
  const ParamLayout layout(cfg);
  const std::pair<const char*, LoraSite> sites[] = {{"qkvw", LoraSite::kQkv},
                                                    {"attprojw", LoraSite::kAttnOut},
                                                    {"fcw", LoraSite::kMlpUp},
                                                    {"fcprojw", LoraSite::kMlpDown}};
  std::vector<LoraTarget> out;
  for (const auto& [name, site] : sites) {
    const ParamTensor& t = layout.find(name);  // (L, rows, in)
    const int64_t in = t.shape[2];
    if (t.parts.empty()) {
      const std::string path = module_path(t.hf_name);
      out.push_back({last_name(path), path, site, in, 0, t.shape[1], t.hf_transposed});
      continue;
    }
    int64_t row0 = 0;
    for (const ParamPart& p : t.parts) {  // q_proj | k_proj | v_proj, gate_proj | up_proj
      const std::string path = module_path(p.hf_name);
      out.push_back({last_name(path), path, site, in, row0, p.rows, t.hf_transposed});
      row0 += p.rows;
    }
  }
  return out;
}

std::vector<std::string> default_lora_targets(const GptConfig& cfg) {
  std::vector<std::string> names;
  for (const LoraTarget& t : lora_targets(cfg))
    if (std::find(names.begin(), names.end(), t.name) == names.end()) names.push_back(t.name);
  return names;
}

std::vector<std::string> split_targets(const std::string& list) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : list + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  return out;
}

Lora::Lora(const GptConfig& cfg, const LoraConfig& lc, std::shared_ptr<ops::Backend> backend)
    : cfg_(cfg), lc_(lc), backend_(std::move(backend)) {
  if (!backend_) backend_ = std::shared_ptr<ops::Backend>(&ops::cpu_backend(), [](ops::Backend*) {});
  CF_CHECK(lc_.rank >= 1, "LoRA rank must be at least 1 (got {})", lc_.rank);
  CF_CHECK(lc_.alpha > 0 && std::isfinite(lc_.alpha), "LoRA alpha must be positive (got {})", lc_.alpha);
  CF_CHECK(lc_.dropout >= 0 && lc_.dropout < 1, "LoRA dropout must be in [0, 1) (got {})", lc_.dropout);
  if (lc_.targets.empty()) lc_.targets = default_lora_targets(cfg_);
  const std::vector<LoraTarget> all = lora_targets(cfg_);
  const std::vector<std::string> names = default_lora_targets(cfg_);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  const int64_t r = lc_.rank;
  size_t total = 0;
  site_modules_.assign(static_cast<size_t>(cfg_.n_layer) * kLoraSites, {});
  for (const std::string& target : lc_.targets) {
    bool any = false;
    for (const LoraTarget& t : all) any = any || matches(t.hf_path, target);
    CF_CHECK(any, "LoRA target '{}' names no module of a {} model (its modules: {})", target, cfg_.model_type, known);
  }
  for (int l = 0; l < cfg_.n_layer; ++l)
    for (const LoraTarget& t : all) {
      const bool wanted =
          std::any_of(lc_.targets.begin(), lc_.targets.end(), [&](const std::string& n) { return matches(t.hf_path, n); });
      if (!wanted) continue;
      LoraModule m{t, l, replace_layer(t.hf_path, l), 0, 0};
      m.a_off = total;
      total += static_cast<size_t>(r * t.in);
      m.b_off = total;
      total += static_cast<size_t>(t.rows * r);
      site_modules_[index(l, t.site)].push_back(modules_.size());
      max_in_ = std::max(max_in_, t.in);
      max_rows_ = std::max(max_rows_, t.rows);
      modules_.push_back(std::move(m));
    }
  for (const LoraModule& m : modules_) {
    ParamTensor a, b;
    a.name = m.path + ".lora_A.weight";
    a.shape = {r, m.target.in};
    a.offset = m.a_off;
    a.kind = ParamKind::kMatmulWeight;
    b.name = m.path + ".lora_B.weight";
    b.shape = {m.target.rows, r};
    b.offset = m.b_off;
    b.kind = ParamKind::kMatmulWeight;
    tensors_.push_back(std::move(a));
    tensors_.push_back(std::move(b));
  }
  params_.resize(total);
  grads_.resize(total);
  if (!backend_->host_memory()) {
    dparams_.reset(*backend_, params_.bytes());
    dgrads_.reset(*backend_, grads_.bytes());
  }
}

void Lora::init_weights(uint64_t seed) {
  Rng rng(seed);
  params_.zero();
  const int64_t r = lc_.rank;
  for (const LoraModule& m : modules_) {
    // torch.nn.init.kaiming_uniform_(A, a=sqrt(5)): gain sqrt(2 / (1 + 5)), bound = gain *
    // sqrt(3 / fan_in) = 1 / sqrt(fan_in), fan_in = in.
    const float bound = 1.0f / std::sqrt(static_cast<float>(m.target.in));
    float* a = params_.data() + m.a_off;
    for (int64_t i = 0; i < r * m.target.in; ++i) a[i] = (2.0f * rng.uniform_f() - 1.0f) * bound;
  }
  push_params();
}

void Lora::push_params() {
  if (dparams_.data()) backend_->upload(dparams_.data(), params_.data(), params_.bytes());
}
void Lora::pull_params() {
  if (dparams_.data()) backend_->download(params_.data(), dparams_.data(), params_.bytes());
}
void Lora::push_grads() {
  if (dgrads_.data()) backend_->upload(dgrads_.data(), grads_.data(), grads_.bytes());
}
void Lora::pull_grads() {
  if (dgrads_.data()) backend_->download(grads_.data(), dgrads_.data(), grads_.bytes());
}
void Lora::zero_grad() {
  if (grads_.size()) backend_->zero(device_grads(), grads_.bytes());
}

void Lora::set_dropout_lanes(int rank, int world) {
  CF_CHECK(world >= 1 && rank >= 0 && rank < world, "LoRA dropout lanes: rank {} of {} ranks", rank, world);
  lane_ = rank;
  lanes_ = world;
}

void Lora::begin_forward(int N) {
  if (dropping()) {  // one rank: draw_ = ++counter_ (see set_dropout_lanes)
    draw_ = counter_ + static_cast<uint64_t>(lane_) + 1;
    counter_ += static_cast<uint64_t>(lanes_);
  }
  if (N == N_) return;
  const size_t n = static_cast<size_t>(N), r = lc_.rank;
  us_buf_ = ops::Buffer();
  us_buf_.reset(*backend_, std::max<size_t>(1, modules_.size() * n * r) * sizeof(float));
  us_ = us_buf_.data();
  // xd, dxd (N, max_in); delta, part (N, max_rows); dus (N, r)
  const size_t in = static_cast<size_t>(max_in_), rows = static_cast<size_t>(max_rows_);
  const size_t xd = lc_.dropout > 0 ? n * in : 0;
  work_buf_ = ops::Buffer();
  work_buf_.reset(*backend_, (xd + n * in + 2 * n * rows + n * r + 64) * sizeof(float));
  xd_ = work_buf_.data();
  dxd_ = xd_ + xd;
  delta_ = dxd_ + n * in;
  part_ = delta_ + n * rows;
  dus_ = part_ + n * rows;
  N_ = N;
}

void Lora::apply_dropout(float* dst, const float* x, int N, int64_t in, size_t mi) const {
  const size_t n = static_cast<size_t>(N) * in;
  const float keep_scale = 1.0f / (1.0f - lc_.dropout);
  const uint32_t threshold = static_cast<uint32_t>(static_cast<double>(lc_.dropout) * 4294967296.0);
  const uint64_t key = mix(mix(drop_seed_ ^ mix(draw_)) ^ mi);
  std::vector<float> host;
  float* out = dst;
  const float* src = x;
  if (!backend_->host_memory()) {  // masks are drawn on the host (adapter inputs are small next to the base)
    host.resize(n);
    backend_->download(host.data(), x, n * sizeof(float));
    out = host.data();
    src = host.data();
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) {
    const bool drop = static_cast<uint32_t>(mix(key + static_cast<uint64_t>(i)) >> 32) < threshold;
    out[i] = drop ? 0.0f : src[i] * keep_scale;
  }
  if (!backend_->host_memory()) backend_->upload(dst, host.data(), n * sizeof(float));
}

void Lora::forward(int layer, LoraSite site, float* out, int ld, const float* x, int N) {
  CF_CHECK(N == N_, "LoRA: forward of {} rows after begin_forward({})", N, N_);
  ops::Backend& be = *backend_;
  const int r = lc_.rank;
  const float* p = device_params();
  for (size_t mi : site_modules_[index(layer, site)]) {
    const LoraModule& m = modules_[mi];
    const int in = static_cast<int>(m.target.in), rows = static_cast<int>(m.target.rows);
    float* us = us_ + mi * static_cast<size_t>(N) * r;  // (N, r)
    const float* xd = x;                                // (N, in)
    if (dropping()) {
      apply_dropout(xd_, x, N, in, mi);
      xd = xd_;
    }
    // us = scale * dropout(x) @ A^T: (N, in) x (r, in)^T -> (N, r)
    be.matmul_forward(us, xd, p + m.a_off, nullptr, N, in, r);
    be.scale_inplace(us, static_cast<size_t>(N) * r, lc_.scale());
    // delta = us @ B^T: (N, r) x (rows, r)^T -> (N, rows), added to out's columns [row0, row0 + rows)
    const size_t nrows = static_cast<size_t>(N) * rows;
    be.matmul_forward(delta_, us, p + m.b_off, nullptr, N, r, rows);
    if (rows == ld) {
      be.residual_forward(out, out, delta_, nrows);
    } else {  // a row block of a fused projection: gather its columns, add, scatter back
      const size_t pitch = static_cast<size_t>(ld) * sizeof(float), bytes = static_cast<size_t>(rows) * sizeof(float);
      be.copy_rows(part_, bytes, out + m.target.row0, pitch, bytes, N);
      be.residual_forward(part_, part_, delta_, nrows);
      be.copy_rows(out + m.target.row0, pitch, part_, bytes, bytes, N);
    }
  }
}

void Lora::backward(int layer, LoraSite site, float* dx, const float* dout, int ld, const float* x, int N) {
  CF_CHECK(N == N_, "LoRA: backward of {} rows after a forward of {}", N, N_);
  ops::Backend& be = *backend_;
  const int r = lc_.rank;
  const float* p = device_params();
  float* g = device_grads();
  for (size_t mi : site_modules_[index(layer, site)]) {
    const LoraModule& m = modules_[mi];
    const int in = static_cast<int>(m.target.in), rows = static_cast<int>(m.target.rows);
    const float* us = us_ + mi * static_cast<size_t>(N) * r;  // (N, r)
    const float* dpart = dout;                                // (N, rows): this block's columns of dout
    if (rows != ld) {
      const size_t pitch = static_cast<size_t>(ld) * sizeof(float), bytes = static_cast<size_t>(rows) * sizeof(float);
      be.copy_rows(part_, bytes, dout + m.target.row0, pitch, bytes, N);
      dpart = part_;
    }
    // forward was: delta = us @ B^T, so dus (N, r) = dpart @ B and dB (rows, r) += dpart^T @ us
    be.matmul_backward(dus_, g + m.b_off, nullptr, dpart, us, p + m.b_off, N, r, rows);
    // forward was: us = scale * (xd @ A^T), so with dv = scale * dus: dA (r, in) += dv^T @ xd,
    // dxd (N, in) = dv @ A
    be.scale_inplace(dus_, static_cast<size_t>(N) * r, lc_.scale());
    const float* xd = x;
    if (dropping()) {  // the forward's mask again (same counter)
      apply_dropout(xd_, x, N, in, mi);
      xd = xd_;
    }
    be.matmul_backward(dxd_, g + m.a_off, nullptr, dus_, xd, p + m.a_off, N, in, r);
    // forward was: xd = x * keep / (1 - p), so dx += dxd * keep / (1 - p)
    if (dropping()) apply_dropout(dxd_, dxd_, N, in, mi);
    be.residual_forward(dx, dx, dxd_, static_cast<size_t>(N) * in);
  }
}

}  // namespace chatforge::model
