// Decode and prefill speed of the inference engine at a given GPT shape (random weights),
// next to this machine's memory-bandwidth bound for decoding (every fp32 weight is read
// once per decode step, so bound tok/s = read bandwidth / weight bytes).
// Usage: bench_decode [L=12 NH=12 C=768 V=50257 ctx=1024 prompt=256 new=32 batch=8]
// Prints figures and: RESULT decode_tok_s=... bound_tok_s=... prefill_tok_s=... batch8_tok_s=...
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/timer.h"
#include "infer/engine.h"

namespace cf = chatforge;

// STREAM-like read bandwidth (GB/s): the best of a few parallel sums over a 1 GiB array.
double read_bandwidth_gbs() {
  const size_t n = (size_t{1} << 30) / sizeof(float);
  std::vector<float> a(n);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) a[i] = static_cast<float>(i & 7);
  double best = 0, sink = 0;
  for (int r = 0; r < 4; ++r) {
    cf::Timer t;
    // each thread sums its half into 64 float lanes (4 independent AVX-512 chains); an
    // "omp parallel for simd" scalar reduction measured 2.5x slower (not vectorised)
    float total = 0.0f;
#pragma omp parallel reduction(+ : total)
    {
      const size_t nt = omp_get_num_threads(), id = omp_get_thread_num();
      const size_t begin = n / nt * id, end = id + 1 == nt ? n : n / nt * (id + 1);
      float acc[64] = {};
      size_t i = begin;
      for (; i + 64 <= end; i += 64)
#pragma omp simd
        for (int k = 0; k < 64; ++k) acc[k] += a[i + k];
      for (; i < end; ++i) acc[0] += a[i];
      for (float x : acc) total += x;
    }
    const double gbs = n * sizeof(float) / t.seconds() / 1e9;
    sink += total;
    if (gbs > best) best = gbs;
  }
  if (sink == 42) std::printf(" ");
  return best;
}

int main(int argc, char** argv) {
  auto arg = [&](int i, int def) { return argc > i ? std::atoi(argv[i]) : def; };
  cf::model::GptConfig cfg;
  cfg.n_layer = arg(1, 12);
  cfg.n_head = arg(2, 12);
  cfg.n_embd = arg(3, 768);
  cfg.vocab_size = arg(4, 50257);
  cfg.n_ctx = arg(5, 1024);
  const int prompt_len = arg(6, 256), n_new = arg(7, 32), batch = arg(8, 8);
  cf::model::Gpt model(cfg);
  model.init_weights(1);
  // weights read per decode step: everything but the position table (one row is read)
  const double weight_bytes = (static_cast<double>(model.layout().total()) -
                               static_cast<double>(cfg.n_ctx) * cfg.n_embd) * sizeof(float);
  const double bw = read_bandwidth_gbs();
  const double bound = bw * 1e9 / weight_bytes;
  std::printf("shape L=%d NH=%d C=%d V=%d ctx=%d, %d threads; weights %.0f MB fp32\n", cfg.n_layer, cfg.n_head,
              cfg.n_embd, cfg.vocab_size, cfg.n_ctx, omp_get_max_threads(), weight_bytes / 1e6);
  std::printf("memory read bandwidth %.1f GB/s -> decode bound %.1f tok/s at batch 1\n", bw, bound);

  cf::infer::Engine engine(model, batch, cfg.n_ctx);
  auto request = [&](int len, int seed) {
    cf::infer::GenerationRequest r;
    for (int i = 0; i < len; ++i) r.prompt.push_back((i * 7919 + seed * 104729) % cfg.vocab_size);
    r.sampling.temperature = 0;
    r.max_new_tokens = n_new;
    return r;
  };
  engine.generate(request(8, 0));  // warm-up
  // batch 1: prefill of prompt_len tokens, then n_new decode steps (the first token comes
  // from the prefill, so n_new - 1 decode steps are timed)
  double prefill = 0, decode = 0;
  for (int rep = 0; rep < 2; ++rep) {
    const auto r = engine.generate(request(prompt_len, rep + 1));
    const double p = r.prompt_tokens / r.prefill_seconds, d = (r.completion_tokens - 1) / r.decode_seconds;
    prefill = std::max(prefill, p);
    decode = std::max(decode, d);
  }
  std::printf("batch 1: prefill %d tokens %.1f tok/s; decode %.1f tok/s (%.0f%% of the bound)\n", prompt_len,
              prefill, decode, 100 * decode / bound);
  // batch B: B sequences decoded together, tokens per second over all of them
  std::vector<cf::infer::GenerationRequest> reqs;
  for (int b = 0; b < batch; ++b) reqs.push_back(request(16, 10 + b));
  std::vector<int> handles;
  for (auto& r : reqs) handles.push_back(engine.submit(r));
  engine.step();  // the prefills
  cf::Timer t;
  int steps = 0;
  while (engine.step()) ++steps;
  ++steps;  // the last step also ran
  const double batch_tok_s = static_cast<double>(steps) * batch / t.seconds();
  for (int h : handles) engine.take(h);
  std::printf("batch %d: decode %.1f tok/s in total (%.2fx batch 1)\n", batch, batch_tok_s, batch_tok_s / decode);
  std::printf("RESULT decode_tok_s=%.1f bound_tok_s=%.1f prefill_tok_s=%.1f batch%d_tok_s=%.1f bandwidth_gbs=%.1f\n",
              decode, bound, prefill, batch, batch_tok_s, bw);
  return 0;
}
