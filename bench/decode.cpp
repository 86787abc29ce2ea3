// Decode and prefill speed of the inference engine at a given GPT shape, next to this
// machine's memory-bandwidth bound for decoding: every weight is read once per batch-1
// decode step, so bound tok/s = read bandwidth / (weight bytes of the format in use
// (InferWeights::bytes_per_token: fp32 4 bytes a weight, f16/bf16 2, int8 1 + row scales)
// + the fp32 KV cache the step attends to).
// Usage: bench_decode [model=DIR | L=12 NH=12 C=768 V=50257 ctx=1024] [prompt=256 new=32
//        batch=8 formats=f32,f16 threads=1,2]   (batch=0: no batched run)
// Random weights (seed 1) unless model= names a checkpoint. Threads: the main figures run
// at the last count of `threads`; f32 batch-1 decode is also run at every count (scaling).
// Prefill runs our GEMM (ops/cpu/gemm.h; bf16 weights through the AVX512-BF16 kernel where
// the CPU has it); the same prefill through OpenBLAS's sgemm on the expanded weights (what
// inference used before) is timed beside it as the reference.
// Ends with: RESULT bandwidth_gbs=... <fmt>_tok_s=... <fmt>_bound_tok_s=... <fmt>_bound_frac=...
//            <fmt>_prefill_tok_s=... <fmt>_prefill_openblas_tok_s=... <fmt>_prefill_vs_openblas=...
//            <fmt>_batch<B>_tok_s=... t<N>_tok_s=...
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/timer.h"
#include "infer/engine.h"
#include "model/checkpoint.h"
#include "ops/cpu/gemm.h"

namespace cf = chatforge;

// STREAM-like read bandwidth (GB/s): the best of a few parallel sums over an array of
// `bytes` (1 GiB: main memory; the size of a format's weights: what re-reading them every
// token can reach, a last-level cache larger than them included).
double read_bandwidth_gbs(size_t bytes = size_t{1} << 30, int reps = 4) {
  const size_t n = bytes / sizeof(float);
  std::vector<float> a(n);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) a[i] = static_cast<float>(i & 7);
  double best = 0, sink = 0;
  for (int r = 0; r < reps; ++r) {
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

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines appear as they are measured
  std::map<std::string, std::string> args = {{"L", "12"},      {"NH", "12"},  {"C", "768"},   {"V", "50257"},
                                             {"ctx", "1024"},  {"prompt", "256"}, {"new", "32"}, {"batch", "8"},
                                             {"formats", "f32,f16"}, {"threads", "1,2"}, {"model", ""}};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    if (eq == std::string::npos || !args.count(a.substr(0, eq))) {
      std::fprintf(stderr, "bench_decode: unknown argument '%s'\n", a.c_str());
      return 2;
    }
    args[a.substr(0, eq)] = a.substr(eq + 1);
  }
  auto num = [&](const char* k) { return std::atoi(args[k].c_str()); };
  std::unique_ptr<cf::model::Gpt> model;
  if (!args["model"].empty()) {
    model = cf::model::load_model(args["model"]);
  } else {
    cf::model::GptConfig cfg;
    cfg.n_layer = num("L"), cfg.n_head = num("NH"), cfg.n_embd = num("C"), cfg.vocab_size = num("V"),
    cfg.n_ctx = num("ctx");
    model = std::make_unique<cf::model::Gpt>(cfg);
    model->init_weights(1);
  }
  const cf::model::GptConfig& cfg = model->config();
  const int prompt_len = num("prompt"), n_new = num("new"), batch = num("batch");
  std::vector<int> thread_counts;
  for (const auto& t : split(args["threads"])) thread_counts.push_back(std::atoi(t.c_str()));
  const int threads = thread_counts.back();
  omp_set_num_threads(threads);
  const double bw = read_bandwidth_gbs();
  std::printf("shape %s L=%d NH=%d NKV=%d C=%d F=%d V=%d ctx=%d, %d threads; memory read bandwidth %.1f GB/s (1 GiB sum)\n",
              cfg.llama() ? "llama-family" : "gpt2", cfg.n_layer, cfg.n_head, cfg.kv_heads(), cfg.n_embd, cfg.ffn(),
              cfg.vocab_size, cfg.n_ctx, threads, bw);
  std::printf("OpenBLAS %s build: %s\n", cf::ops::blas_shares_openmp_pool() ? "OpenMP" : "non-OpenMP",
              cf::ops::blas_shares_openmp_pool() ? "one libgomp thread pool for BLAS and chatforge's kernels"
                                                  : "its own threads (may oversubscribe the cores)");

  auto request = [&](int len, int seed) {
    cf::infer::GenerationRequest r;
    // the ids bench/decode_llama.mjs feeds llama.cpp (every benchmarked vocabulary >= 50257)
    for (int i = 0; i < len; ++i) r.prompt.push_back((i * 7919 + seed * 104729) % std::min(cfg.vocab_size, 50257));
    r.sampling.temperature = 0;
    r.max_new_tokens = n_new;
    return r;
  };
  // batch 1: prefill of prompt_len tokens, then n_new decode steps (the first token comes
  // from the prefill, so n_new - 1 decode steps are timed); best of 2
  auto batch1 = [&](cf::infer::Engine& engine, double* prefill, double* decode) {
    *prefill = *decode = 0;
    for (int rep = 0; rep < 2; ++rep) {
      const auto r = engine.generate(request(prompt_len, rep + 1));
      *prefill = std::max(*prefill, r.prompt_tokens / r.prefill_seconds);
      *decode = std::max(*decode, (r.completion_tokens - 1) / r.decode_seconds);
    }
  };
  // The same prefill with OpenBLAS's sgemm in place of our kernels (bf16 included).
  auto prefill_openblas = [&](cf::infer::Engine& engine) {
    const cf::ops::GemmImpl impl = cf::ops::gemm_impl();
    const cf::ops::Bf16Kernel bf16_kernel = cf::ops::gemm_bf16_kernel();
    cf::ops::set_gemm_impl(cf::ops::GemmImpl::kOpenblas);
    cf::ops::set_gemm_bf16_native(false);
    double prefill, decode;
    batch1(engine, &prefill, &decode);
    cf::ops::set_gemm_impl(impl);
    cf::ops::set_gemm_bf16_kernel(bf16_kernel);
    return prefill;
  };
  char buf[256];
  std::string result = "RESULT";
  auto add = [&](const std::string& key, double v, int digits = 1) {
    std::snprintf(buf, sizeof buf, " %s=%.*f", key.c_str(), digits, v);
    result += buf;
  };
  add("bandwidth_gbs", bw);
  for (const std::string& name : split(args["formats"])) {
    cf::ops::WeightFormat format;
    if (!cf::ops::parse_weight_format(name.c_str(), &format)) {
      std::fprintf(stderr, "bench_decode: unknown format '%s'\n", name.c_str());
      return 2;
    }
    cf::infer::Engine engine(*model, std::max(batch, 1), cfg.n_ctx, format);
    // The bound: the bytes a token reads at the bandwidth of re-reading that many bytes.
    // (Weights smaller than the last-level cache, int8 here with a 260 MB L3, partly stay
    // in it from token to token; against the 1 GiB figure their decode read over 100%.)
    // A decode step also reads the cached keys and values of every earlier position (fp32,
    // 2 x L x kv_dim floats a position (kv_dim = C without grouped-query attention); the
    // timed steps attend to prompt + n_new/2 on average).
    const double kv_bytes = 2.0 * cfg.n_layer * cfg.kv_dim() * sizeof(float) * (prompt_len + n_new / 2.0);
    const double bytes = engine.weights().bytes_per_token() + kv_bytes;
    const double fmt_bw = std::max(bw, read_bandwidth_gbs(static_cast<size_t>(bytes), 6)), bound = fmt_bw * 1e9 / bytes;
    engine.generate(request(8, 0));  // warm-up
    double prefill, decode;
    batch1(engine, &prefill, &decode);
    const double prefill_blas = prefill_openblas(engine);
    // batch B: B sequences decoded together, tokens per second over all of them
    double batch_tok_s = 0;
    if (batch > 0) {
      std::vector<int> handles;
      for (int b = 0; b < batch; ++b) handles.push_back(engine.submit(request(16, 10 + b)));
      engine.step();  // the prefills
      cf::Timer t;
      int steps = 0;
      while (engine.step()) ++steps;
      ++steps;  // the last step also ran
      batch_tok_s = static_cast<double>(steps) * batch / t.seconds();
      for (int h : handles) engine.take(h);
    }
    std::printf("%-4s weights + KV cache %4.0f MB read per token at %4.1f GB/s -> bound %5.1f tok/s | batch 1: decode %5.1f tok/s "
                "(%3.0f%% of the bound), prefill %d tokens %6.1f tok/s | batch %d: decode %6.1f tok/s\n",
                name.c_str(), bytes / 1e6, fmt_bw, bound, decode, 100 * decode / bound, prompt_len, prefill, batch,
                batch_tok_s);
    std::printf("%-4s prefill %d tokens: ours %6.1f tok/s, through OpenBLAS %6.1f tok/s (%.2fx)%s\n", name.c_str(),
                prompt_len, prefill, prefill_blas, prefill / prefill_blas,
                format == cf::ops::WeightFormat::kBF16 && cf::ops::gemm_bf16_native() ? (cf::ops::gemm_bf16_kernel() == cf::ops::Bf16Kernel::kAmx ? " [AMX GEMM]" : " [AVX512-BF16 GEMM]") : "");
    add(name + "_read_gbs", fmt_bw);
    add(name + "_tok_s", decode);
    add(name + "_bound_tok_s", bound);
    add(name + "_bound_frac", decode / bound, 3);
    add(name + "_prefill_tok_s", prefill);
    add(name + "_prefill_openblas_tok_s", prefill_blas);
    add(name + "_prefill_vs_openblas", prefill / prefill_blas, 2);
    if (batch > 0) add(name + "_batch" + std::to_string(batch) + "_tok_s", batch_tok_s);
  }
  // thread scaling of fp32 batch-1 decode
  if (thread_counts.size() > 1) {
    cf::infer::Engine engine(*model, 1, cfg.n_ctx);
    std::string line = "f32 batch-1 decode by threads:";
    for (int n : thread_counts) {
      omp_set_num_threads(n);
      engine.generate(request(8, 0));
      double prefill, decode;
      batch1(engine, &prefill, &decode);
      std::snprintf(buf, sizeof buf, " %d: %.1f tok/s", n, decode);
      line += buf;
      char key[32];  // (not "t" + std::to_string(n): GCC 12 warns -Wrestrict on it)
      std::snprintf(key, sizeof key, "t%d_tok_s", n);
      add(key, decode);
    }
    omp_set_num_threads(threads);
    std::printf("%s\n", line.c_str());
  }
  std::printf("%s\n", result.c_str());
  return 0;
}
