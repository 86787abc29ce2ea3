// Every op of every available backend against the double-precision reference
// (ops/reference), in one table (in the spirit of llama.cpp's test-backend-ops). A row is
// an op and its shapes: it makes its inputs on the host, computes the reference, uploads
// the inputs to the backend, runs the op through ops::Backend, downloads and compares.
// Columns are the backends: the CPU one always (and, for the rows that reach the SIMD
// decode kernels, the CPU at every lower SIMD level this machine runs), the CUDA one in
// fp32 and in bf16 where the build has it; the CUDA columns skip themselves when no GPU
// is present. fp32 columns share one tight tolerance per row; the bf16 column runs the
// GEMM rows only (its other ops are the fp32 ones), with a loose tolerance. Outputs that
// accumulate (parameter gradients, the residual stream) start from non-zero values;
// outputs that are overwritten start from garbage.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "op_test_util.h"
#include "ops/backend.h"
#include "ops/cpu/half.h"
#include "ops/cpu/simd.h"
#include "ops/device.h"
#include "ops/ops.h"
#include "ops/reference/reference_ops.h"

using namespace chatforge;
using namespace chatforge::testing;
namespace ref = chatforge::ops::reference;
using ops::Activation;
using ops::WeightFormat;

namespace {

// --- columns: the backends ---------------------------------------------------------------

struct Column {
  std::string name;  // in test names: cpu, cpu_avx2, cuda_fp32, cuda_bf16
  bool cuda = false;
  bool bf16 = false;
  int simd = -1;  // CPU: the SIMD level to run at (-1: the default)
};

// The backend of a column, made once; null with `why` when it cannot run here.
std::shared_ptr<ops::Backend> open_backend(const Column& col, std::string* why) {
  if (!col.cuda)
    return std::shared_ptr<ops::Backend>(col.bf16 ? &ops::cpu_backend_bf16() : &ops::cpu_backend(), [](ops::Backend*) {});
  static std::map<bool, std::shared_ptr<ops::Backend>> made;
  static std::map<bool, std::string> failed;
  if (failed.count(col.bf16)) {
    *why = failed[col.bf16];
    return nullptr;
  }
  if (!made.count(col.bf16)) {
    try {
      ops::Device d;
      d.cuda = true;
      d.bf16 = col.bf16;
      ops::activate_device(d);
      made[col.bf16] = ops::make_backend(d);
    } catch (const Error& e) {
      failed[col.bf16] = e.what();
      *why = e.what();
      return nullptr;
    }
  }
  return made[col.bf16];
}

// --- what a row sees ---------------------------------------------------------------------

struct Ctx {
  ops::Backend& be;
  bool bf16;   // GEMMs round their inputs to bf16
  double tol;  // the row's tolerance for this column
  bool cpu;    // the CPU backend (linear_forward's prefill over bf16 weights rounds x to bf16)

  // A backend copy of a host vector (at least one byte, so even empty inputs have a pointer).
  template <class T>
  ops::Buffer put(const std::vector<T>& host) {
    ops::Buffer b(be, std::max<size_t>(host.size() * sizeof(T), 1));
    if (!host.empty()) be.upload(b.data(), host.data(), host.size() * sizeof(T));
    return b;
  }
  template <class T>
  std::vector<T> get(const ops::Buffer& b, size_t n) {
    std::vector<T> host(n);
    if (n) be.download(host.data(), b.data(), n * sizeof(T));
    return host;
  }
  std::vector<float> getf(const ops::Buffer& b, size_t n) { return get<float>(b, n); }
  // got against the reference, max |got - want| / max(1, max |want|) <= tol
  void check(const std::string& what, const std::vector<float>& got, const std::vector<double>& want) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); ++i) ASSERT_TRUE(std::isfinite(got[i])) << what << "[" << i << "] = " << got[i];
    const double e = max_err(got, want);
    EXPECT_LE(e, tol) << what << ": error " << e << " over tolerance " << tol << " on " << be.name();
  }
  void check(const std::string& what, double got, double want) {
    const double e = std::fabs(got - want) / std::max(1.0, std::fabs(want));
    EXPECT_LE(e, tol) << what << ": " << got << " vs " << want << " on " << be.name();
  }
};

struct Row {
  std::string name;
  std::function<void(Ctx&)> run;
  double tol = 2e-5;        // fp32 columns
  bool gemm = false;        // runs on the bf16 column too, with tol_bf16
  double tol_bf16 = 3e-2;
  bool simd = false;        // reaches the CPU's SIMD decode kernels: runs at every SIMD level
  bool cpu_only = false;    // an op the CUDA backend refuses (yet): CUDA columns check that it says so
};

std::vector<float> randf(size_t n, Rng& rng, double scale = 1.0) { return to_f(randn(n, rng, scale)); }
std::vector<double> d(const std::vector<float>& v) { return to_d(v); }

// Document ids for B rows of T tokens: row b cut into documents of varying lengths (the
// last row keeps one document), ids not in order.
std::vector<int32_t> packed_docs(int B, int T, Rng& rng) {
  std::vector<int32_t> doc(static_cast<size_t>(B) * T);
  for (int b = 0; b < B; ++b) {
    int32_t id = 100 + b, left = b == B - 1 ? T : 1 + static_cast<int32_t>(rng.below(static_cast<uint64_t>(T)));
    for (int t = 0; t < T; ++t) {
      if (left-- == 0) {
        id = static_cast<int32_t>(rng.below(1000)) * 7 + 1;
        left = static_cast<int32_t>(rng.below(static_cast<uint64_t>(T)));
      }
      doc[static_cast<size_t>(b) * T + t] = id;
    }
  }
  return doc;
}
// Positions within the documents of `doc` (restarting at 0 where the id changes).
std::vector<int32_t> doc_positions(const std::vector<int32_t>& doc, int B, int T) {
  std::vector<int32_t> pos(doc.size());
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const size_t i = static_cast<size_t>(b) * T + t;
      pos[i] = t > 0 && doc[i] == doc[i - 1] ? pos[i - 1] + 1 : 0;
    }
  return pos;
}

std::string dims(std::initializer_list<std::pair<const char*, int>> ds) {
  std::string s;
  for (const auto& [k, v] : ds) s += std::string("_") + k + std::to_string(v);
  return s;
}

// --- the rows ------------------------------------------------------------------------------

void memory_row(Ctx& c) {
  const bool cpu = c.be.host_memory();
  EXPECT_FALSE(c.be.name().empty());
  if (cpu) {
    EXPECT_EQ(c.be.name(), "cpu");
  } else {
    EXPECT_EQ(c.be.name().rfind("cuda:", 0), 0u) << c.be.name();
    EXPECT_NE(c.be.name().find(c.bf16 ? "(bf16)" : "(fp32)"), std::string::npos) << c.be.name();
  }
  // allocate: zeroed and aligned
  ops::Buffer a(c.be, 1003);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 64, 0u);
  EXPECT_EQ(c.get<uint8_t>(a, 1003), std::vector<uint8_t>(1003, 0));
  // upload, copy (device to device), download
  std::vector<uint8_t> pattern(1003);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(i * 7 + 3);
  c.be.upload(a.data(), pattern.data(), pattern.size());
  ops::Buffer b(c.be, 1003);
  c.be.copy(b.data(), a.data(), 1003);
  EXPECT_EQ(c.get<uint8_t>(b, 1003), pattern);
  // zero a range in the middle
  c.be.zero(b.as<uint8_t>() + 64, 100);
  std::vector<uint8_t> want = pattern;
  std::fill(want.begin() + 64, want.begin() + 164, 0);
  c.be.synchronize();
  EXPECT_EQ(c.get<uint8_t>(b, 1003), want);
}

void copy_rows_row(Ctx& c, size_t rows, size_t row_bytes, size_t src_pitch, size_t dst_pitch) {
  std::vector<uint8_t> src(rows * src_pitch + 5), dst(rows * dst_pitch + 9);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 13 + 1);
  for (size_t i = 0; i < dst.size(); ++i) dst[i] = 0xAB;  // bytes between rows must stay
  std::vector<uint8_t> want = dst;
  ref::copy_rows(want.data() + 4, dst_pitch, src.data() + 4, src_pitch, row_bytes, rows);
  auto s = c.put(src), t = c.put(dst);
  c.be.copy_rows(t.as<uint8_t>() + 4, dst_pitch, s.as<uint8_t>() + 4, src_pitch, row_bytes, rows);
  EXPECT_EQ(c.get<uint8_t>(t, dst.size()), want);
}

void encoder_row(Ctx& c, int B, int T, int C, int V, bool with_pos) {
  Rng rng(1);
  const int BT = B * T;
  std::vector<int32_t> ids(BT);
  for (auto& i : ids) i = static_cast<int32_t>(rng.below(V));
  const auto docs = packed_docs(B, T, rng);
  const auto positions = doc_positions(docs, B, T);
  const int32_t* pos = with_pos ? positions.data() : nullptr;
  auto wte = randn(static_cast<size_t>(V) * C, rng), wpe = randn(static_cast<size_t>(T) * C, rng),
       dout = randn(static_cast<size_t>(BT) * C, rng);
  std::vector<double> out_r(static_cast<size_t>(BT) * C), dwte_r(static_cast<size_t>(V) * C, 0.5),
      dwpe_r(static_cast<size_t>(T) * C, -0.25);
  ref::encoder_forward(out_r.data(), ids.data(), pos, wte.data(), wpe.data(), B, T, C);
  ref::encoder_backward(dwte_r.data(), dwpe_r.data(), dout.data(), ids.data(), pos, B, T, C);
  auto d_ids = c.put(ids), d_pos = c.put(positions), d_wte = c.put(to_f(wte)), d_wpe = c.put(to_f(wpe)),
       d_dout = c.put(to_f(dout)), d_out = c.put(std::vector<float>(out_r.size(), 9.0f)),
       d_dwte = c.put(std::vector<float>(dwte_r.size(), 0.5f)),
       d_dwpe = c.put(std::vector<float>(dwpe_r.size(), -0.25f));
  const int32_t* dp = with_pos ? d_pos.as<int32_t>() : nullptr;
  c.be.encoder_forward(d_out.data(), d_ids.as<int32_t>(), dp, d_wte.data(), d_wpe.data(), B, T, C);
  c.be.encoder_backward(d_dwte.data(), d_dwpe.data(), d_dout.data(), d_ids.as<int32_t>(), dp, B, T, C);
  c.check("out", c.getf(d_out, out_r.size()), out_r);
  c.check("dwte (+=)", c.getf(d_dwte, dwte_r.size()), dwte_r);
  c.check("dwpe (+=)", c.getf(d_dwpe, dwpe_r.size()), dwpe_r);
}

void ref_layernorm_row(Ctx& c, int N, int C) {
  Rng rng(2);
  auto x = randn(static_cast<size_t>(N) * C, rng, 2.0), w = randn(C, rng), b = randn(C, rng),
       dy = randn(static_cast<size_t>(N) * C, rng);
  for (auto& v : x) v += 0.7;  // a non-zero mean
  const auto xf = to_f(x);
  x = d(xf);
  std::vector<double> out_r(x.size()), mean_r(N), rstd_r(N), dx_r(x.size(), 0.25), dw_r(C, 0.5), db_r(C, -0.5);
  ref::layernorm_forward(out_r.data(), mean_r.data(), rstd_r.data(), x.data(), w.data(), b.data(), N, C);
  auto d_x = c.put(xf), d_w = c.put(to_f(w)), d_b = c.put(to_f(b)), d_dy = c.put(to_f(dy));
  auto d_out = c.put(std::vector<float>(x.size(), 9.0f)), d_mean = c.put(std::vector<float>(N, 9.0f)),
       d_rstd = c.put(std::vector<float>(N, 9.0f));
  c.be.layernorm_forward(d_out.data(), d_mean.data(), d_rstd.data(), d_x.data(), d_w.data(), d_b.data(), N, C);
  const auto mean = c.getf(d_mean, N), rstd = c.getf(d_rstd, N);
  c.check("out", c.getf(d_out, out_r.size()), out_r);
  c.check("mean", mean, mean_r);
  c.check("rstd", rstd, rstd_r);
  // backward from the backend's own mean/rstd (as the model runs it)
  ref::layernorm_backward(dx_r.data(), dw_r.data(), db_r.data(), dy.data(), x.data(), w.data(), mean_r.data(),
                          rstd_r.data(), N, C);
  auto d_dx = c.put(std::vector<float>(x.size(), 0.25f)), d_dw = c.put(std::vector<float>(C, 0.5f)),
       d_db = c.put(std::vector<float>(C, -0.5f));
  c.be.layernorm_backward(d_dx.data(), d_dw.data(), d_db.data(), d_dy.data(), d_x.data(), d_w.data(), d_mean.data(),
                          d_rstd.data(), N, C);
  c.check("dinp (+=)", c.getf(d_dx, dx_r.size()), dx_r);
  c.check("dweight (+=)", c.getf(d_dw, C), dw_r);
  c.check("dbias (+=)", c.getf(d_db, C), db_r);
}

void residual_layernorm_row(Ctx& c, int N, int C) {
  Rng rng(12);
  const auto a = randf(static_cast<size_t>(N) * C, rng, 2.0), b = randf(static_cast<size_t>(N) * C, rng),
             w = randf(C, rng), bias = randf(C, rng);
  std::vector<double> res_r(a.size()), out_r(a.size()), mean_r(N), rstd_r(N);
  ref::residual_forward(res_r.data(), d(a).data(), d(b).data(), a.size());
  ref::layernorm_forward(out_r.data(), mean_r.data(), rstd_r.data(), res_r.data(), d(w).data(), d(bias).data(), N, C);
  auto d_a = c.put(a), d_b = c.put(b), d_w = c.put(w), d_bias = c.put(bias);
  auto d_res = c.put(std::vector<float>(a.size(), 9.0f)), d_out = c.put(std::vector<float>(a.size(), 9.0f)),
       d_mean = c.put(std::vector<float>(N)), d_rstd = c.put(std::vector<float>(N));
  c.be.fused_residual_layernorm_forward(d_res.data(), d_out.data(), d_mean.data(), d_rstd.data(), d_a.data(),
                                        d_b.data(), d_w.data(), d_bias.data(), N, C);
  c.check("residual", c.getf(d_res, a.size()), res_r);
  c.check("out", c.getf(d_out, a.size()), out_r);
  c.check("mean", c.getf(d_mean, N), mean_r);
  c.check("rstd", c.getf(d_rstd, N), rstd_r);
}

void matmul_row(Ctx& c, int N, int C, int OC, bool with_bias, bool with_dinp) {
  Rng rng(3);
  const auto x = randf(static_cast<size_t>(N) * C, rng), w = randf(static_cast<size_t>(OC) * C, rng),
             b = randf(OC, rng), dy = randf(static_cast<size_t>(N) * OC, rng);
  std::vector<double> out_r(static_cast<size_t>(N) * OC), dx_r(x.size()), dw_r(w.size(), 0.5), db_r(OC, 0.25);
  ref::matmul_forward(out_r.data(), d(x).data(), d(w).data(), with_bias ? d(b).data() : nullptr, N, C, OC);
  ref::matmul_backward(with_dinp ? dx_r.data() : nullptr, dw_r.data(), with_bias ? db_r.data() : nullptr,
                       d(dy).data(), d(x).data(), d(w).data(), N, C, OC);
  auto d_x = c.put(x), d_w = c.put(w), d_b = c.put(b), d_dy = c.put(dy);
  auto d_out = c.put(std::vector<float>(out_r.size(), 9.0f)), d_dx = c.put(std::vector<float>(x.size(), 123.0f)),
       d_dw = c.put(std::vector<float>(w.size(), 0.5f)), d_db = c.put(std::vector<float>(OC, 0.25f));
  c.be.matmul_forward(d_out.data(), d_x.data(), d_w.data(), with_bias ? d_b.data() : nullptr, N, C, OC);
  c.be.matmul_backward(with_dinp ? d_dx.data() : nullptr, d_dw.data(), with_bias ? d_db.data() : nullptr, d_dy.data(),
                       d_x.data(), d_w.data(), N, C, OC);
  c.check("out", c.getf(d_out, out_r.size()), out_r);
  if (with_dinp) c.check("dinp (=)", c.getf(d_dx, x.size()), dx_r);
  else EXPECT_EQ(c.getf(d_dx, x.size()), std::vector<float>(x.size(), 123.0f)) << "null dinp was written";
  c.check("dweight (+=)", c.getf(d_dw, w.size()), dw_r);
  if (with_bias) c.check("dbias (+=)", c.getf(d_db, OC), db_r);
}

void fused_matmul_row(Ctx& c, int N, int C, int OC, bool with_bias, Activation act) {
  Rng rng(13);
  const auto x = randf(static_cast<size_t>(N) * C, rng), w = randf(static_cast<size_t>(OC) * C, rng, 0.3),
             b = randf(OC, rng);
  const bool gelu = act == Activation::kGelu;
  std::vector<double> pre_r(static_cast<size_t>(N) * OC), out_r(pre_r.size());
  ref::matmul_forward(pre_r.data(), d(x).data(), d(w).data(), with_bias ? d(b).data() : nullptr, N, C, OC);
  ref::linear_forward(out_r.data(), d(x).data(), d(w).data(), with_bias ? d(b).data() : nullptr, N, C, OC, gelu);
  auto d_x = c.put(x), d_w = c.put(w), d_b = c.put(b);
  auto d_out = c.put(std::vector<float>(out_r.size(), 9.0f)), d_pre = c.put(std::vector<float>(out_r.size(), 9.0f));
  c.be.fused_matmul_forward(d_out.data(), d_pre.data(), d_x.data(), d_w.data(), with_bias ? d_b.data() : nullptr, N,
                            C, OC, act);
  c.check("out", c.getf(d_out, out_r.size()), out_r);
  if (gelu) c.check("pre (before GELU)", c.getf(d_pre, pre_r.size()), pre_r);
}

// linear_forward over every weight format the backend reads (the others must be refused).
void linear_row(Ctx& c, int N, int C, int OC, bool with_bias, Activation act) {
  Rng rng(14);
  const auto x = randf(static_cast<size_t>(N) * C, rng), w = randf(static_cast<size_t>(OC) * C, rng, 0.3),
             b = randf(OC, rng);
  auto d_x = c.put(x), d_b = c.put(b);
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kBF16, WeightFormat::kInt8}) {
    SCOPED_TRACE(ops::weight_format_name(f));
    std::vector<uint8_t> store(ops::weight_storage_bytes(OC, C, f));
    std::vector<float> scale(OC);
    ops::quantize_weights(store.data(), scale.data(), w.data(), OC, C, f);
    ops::WeightMatrix host_m{f, store.data(), f == WeightFormat::kInt8 ? scale.data() : nullptr, OC, C};
    std::vector<float> dense(w.size());  // the values the stored matrix stands for
    ops::dequantize_rows(dense.data(), host_m, 0, OC);
    std::vector<double> out_r(static_cast<size_t>(N) * OC);
    auto x_in = x;  // the CPU's prefill over bf16 weights multiplies in bf16 (ops.h)
    if (c.cpu && ops::linear_rounds_to_bf16(f, N))
      for (float& v : x_in) v = ops::half::bf16_to_f32(ops::half::f32_to_bf16(v));
    ref::linear_forward(out_r.data(), d(x_in).data(), d(dense).data(), with_bias ? d(b).data() : nullptr, N, C, OC,
                        act == Activation::kGelu);
    auto d_store = c.put(store), d_scale = c.put(scale), d_out = c.put(std::vector<float>(out_r.size(), 9.0f));
    const ops::WeightMatrix m{f, d_store.data(), f == WeightFormat::kInt8 ? d_scale.data() : nullptr, OC, C};
    if (!c.be.supports_format(f)) {
      EXPECT_NE(f, WeightFormat::kF32) << "every backend reads fp32 weights";
      EXPECT_THROW(c.be.linear_forward(d_out.data(), d_x.data(), m, nullptr, N, act), Error);
      continue;
    }
    c.be.linear_forward(d_out.data(), d_x.data(), m, with_bias ? d_b.data() : nullptr, N, act);
    c.check("out", c.getf(d_out, out_r.size()), out_r);
  }
}

void embedding_rows_row(Ctx& c, int N, int V, int C, bool with_wpe) {
  Rng rng(15);
  const auto table = randf(static_cast<size_t>(V) * C, rng), wpe = randf(static_cast<size_t>(40) * C, rng);
  std::vector<int32_t> ids(N), pos(N);  // host arrays, as the contract says
  for (int i = 0; i < N; ++i) {
    ids[i] = static_cast<int32_t>(rng.below(V));
    pos[i] = static_cast<int32_t>(rng.below(40));
  }
  if (N > 2) ids[N - 1] = ids[0];  // a repeated id
  auto d_wpe = c.put(wpe), d_out = c.put(std::vector<float>(static_cast<size_t>(N) * C, 9.0f));
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kBF16, WeightFormat::kInt8}) {
    if (!c.be.supports_format(f)) continue;
    SCOPED_TRACE(ops::weight_format_name(f));
    std::vector<uint8_t> store(ops::weight_storage_bytes(V, C, f));
    std::vector<float> scale(V);
    ops::quantize_weights(store.data(), scale.data(), table.data(), V, C, f);
    std::vector<float> dense(table.size());
    const ops::WeightMatrix host_m{f, store.data(), f == WeightFormat::kInt8 ? scale.data() : nullptr, V, C};
    ops::dequantize_rows(dense.data(), host_m, 0, V);
    std::vector<double> out_r(static_cast<size_t>(N) * C);
    ref::embedding_rows(out_r.data(), ids.data(), pos.data(), d(dense).data(), with_wpe ? d(wpe).data() : nullptr, N,
                        C);
    auto d_store = c.put(store), d_scale = c.put(scale);
    const ops::WeightMatrix m{f, d_store.data(), f == WeightFormat::kInt8 ? d_scale.data() : nullptr, V, C};
    c.be.embedding_rows(d_out.data(), ids.data(), with_wpe ? pos.data() : nullptr, m,
                        with_wpe ? d_wpe.data() : nullptr, N);
    c.check("out", c.getf(d_out, out_r.size()), out_r);
  }
}

enum class Docs { kNone, kPacked, kLateStart, kInterleaved };

std::vector<int32_t> make_docs(Docs kind, int B, int T, Rng& rng) {
  std::vector<int32_t> doc(static_cast<size_t>(B) * T, 0);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      int32_t& v = doc[static_cast<size_t>(b) * T + t];
      // late start: the last 30 rows' document begins after whole key tiles of another one
      if (kind == Docs::kLateStart) v = t < T - 30 ? 3 : 4;
      // interleaved: runs of 5 tokens cycle through 3 ids, so a document is not contiguous
      if (kind == Docs::kInterleaved) v = (t / 5) % 3;
    }
  return kind == Docs::kPacked ? packed_docs(B, T, rng) : doc;
}

// NKV key/value heads (grouped-query attention when fewer than NH), head size HS.
void attention_row(Ctx& c, int B, int T, int NH, int NKV, int HS, Docs docs) {
  Rng rng(4);
  const size_t n_qkv = static_cast<size_t>(B) * T * (NH + 2 * NKV) * HS, n_out = static_cast<size_t>(B) * T * NH * HS,
               n_lse = static_cast<size_t>(B) * NH * T;
  const auto qkv = randf(n_qkv, rng), dy = randf(n_out, rng);
  const auto doc = make_docs(docs, B, T, rng);
  const int32_t* dp = docs == Docs::kNone ? nullptr : doc.data();
  std::vector<double> out_r(n_out), lse_r(n_lse), dqkv_r(n_qkv);
  ref::attention_forward(out_r.data(), lse_r.data(), d(qkv).data(), dp, B, T, NH, NKV, HS);
  auto d_qkv = c.put(qkv), d_dy = c.put(dy), d_doc = c.put(doc);
  auto d_out = c.put(std::vector<float>(n_out, 9.0f)), d_lse = c.put(std::vector<float>(n_lse, 9.0f)),
       d_dqkv = c.put(std::vector<float>(n_qkv, 7.0f));
  const int32_t* ddp = docs == Docs::kNone ? nullptr : d_doc.as<int32_t>();
  c.be.attention_forward(d_out.data(), d_lse.data(), d_qkv.data(), ddp, B, T, NH, NKV, HS);
  const auto out = c.getf(d_out, n_out);
  c.check("out", out, out_r);
  c.check("lse", c.getf(d_lse, n_lse), lse_r);
  // backward from the backend's own out and lse, as the model runs it
  ref::attention_backward(dqkv_r.data(), d(dy).data(), d(qkv).data(), out_r.data(), lse_r.data(), dp, B, T, NH, NKV,
                          HS);
  c.be.attention_backward(d_dqkv.data(), d_dy.data(), d_qkv.data(), d_out.data(), d_lse.data(), ddp, B, T, NH, NKV,
                          HS);
  c.check("dqkv (=)", c.getf(d_dqkv, n_qkv), dqkv_r);
}

// A row holding documents [0,40) and [40,100) equals the two documents run alone.
void attention_independent_row(Ctx& c) {
  Rng rng(41);
  const int T = 100, C = 32, NH = 4, split = 40;
  const auto qkv = randf(static_cast<size_t>(T) * 3 * C, rng);
  std::vector<int32_t> doc(T);
  for (int t = 0; t < T; ++t) doc[t] = t < split ? 5 : 9;
  auto d_qkv = c.put(qkv), d_doc = c.put(doc);
  auto d_packed = c.put(std::vector<float>(static_cast<size_t>(T) * C)),
       d_alone = c.put(std::vector<float>(static_cast<size_t>(T) * C)),
       d_lse = c.put(std::vector<float>(static_cast<size_t>(NH) * T));
  c.be.attention_forward(d_packed.data(), d_lse.data(), d_qkv.data(), d_doc.as<int32_t>(), 1, T, NH, NH, C / NH);
  c.be.attention_forward(d_alone.data(), d_lse.data(), d_qkv.data(), nullptr, 1, split, NH, NH, C / NH);
  c.be.attention_forward(d_alone.data() + split * C, d_lse.data(), d_qkv.data() + split * 3 * C, nullptr, 1, T - split,
                         NH, NH, C / NH);
  const auto packed = c.getf(d_packed, static_cast<size_t>(T) * C), alone = c.getf(d_alone, packed.size());
  for (size_t i = 0; i < packed.size(); ++i) ASSERT_NEAR(packed[i], alone[i], 1e-6) << i;
}

// Queries of NH heads over a cache of NKV key/value heads, head size HS.
void attention_cached_row(Ctx& c, int NH, int NKV, int HS, int pos0, int Tq, int ldo) {
  Rng rng(5);
  const int KV = NKV * HS, ldq = NH * HS + 2 * KV, n = pos0 + Tq;
  const auto q = randf(static_cast<size_t>(Tq) * ldq, rng), kc = randf(static_cast<size_t>(n) * KV, rng),
             vc = randf(static_cast<size_t>(n) * KV, rng);
  std::vector<double> out_r(static_cast<size_t>(Tq) * ldo, 7.0);  // columns past NH * HS stay as they were
  ref::attention_cached_forward(out_r.data(), ldo, d(q).data(), ldq, d(kc).data(), d(vc).data(), pos0, Tq, NH, NKV, HS);
  auto d_q = c.put(q), d_k = c.put(kc), d_v = c.put(vc), d_out = c.put(std::vector<float>(out_r.size(), 7.0f));
  c.be.attention_cached_forward(d_out.data(), ldo, d_q.data(), ldq, d_k.data(), d_v.data(), pos0, Tq, NH, NKV, HS);
  c.check("out", c.getf(d_out, out_r.size()), out_r);
}

void elementwise_row(Ctx& c, size_t n) {
  Rng rng(6);
  const auto x = randf(n, rng, 3.0), y = randf(n, rng), dy = randf(n, rng);
  std::vector<double> g_r(n), dg_r(n), r_r(n), s_r(n);
  ref::gelu_forward(g_r.data(), d(x).data(), n);
  ref::gelu_backward(dg_r.data(), d(x).data(), d(dy).data(), n);
  ref::residual_forward(r_r.data(), d(x).data(), d(y).data(), n);
  for (size_t i = 0; i < n; ++i) s_r[i] = static_cast<double>(x[i] * 0.37f);
  auto d_x = c.put(x), d_y = c.put(y), d_dy = c.put(dy), d_g = c.put(std::vector<float>(n, 9.0f)),
       d_dg = c.put(std::vector<float>(n, 9.0f)), d_r = c.put(std::vector<float>(n, 9.0f));
  c.be.gelu_forward(d_g.data(), d_x.data(), n);
  c.be.gelu_backward(d_dg.data(), d_x.data(), d_dy.data(), n);
  c.be.residual_forward(d_r.data(), d_x.data(), d_y.data(), n);
  c.check("gelu", c.getf(d_g, n), g_r);
  c.check("gelu backward", c.getf(d_dg, n), dg_r);
  c.check("residual", c.getf(d_r, n), r_r);
  // in place, as the model calls them: gelu_backward with dinp == dout, residual with out == a
  c.be.gelu_backward(d_dy.data(), d_x.data(), d_dy.data(), n);
  c.check("gelu backward in place", c.getf(d_dy, n), dg_r);
  c.be.residual_forward(d_y.data(), d_y.data(), d_x.data(), n);
  c.check("residual in place", c.getf(d_y, n), r_r);
  auto d_s = c.put(x);
  c.be.scale_inplace(d_s.data(), n, 0.37f);
  c.check("scale", c.getf(d_s, n), s_r);
  const double ss_r = ref::sum_squares(x.data(), n), ss = c.be.sum_squares(d_x.data(), n);
  EXPECT_NEAR(ss, ss_r, 1e-9 * std::max(1.0, ss_r)) << "sum of squares";
  EXPECT_EQ(c.be.sum_squares(d_x.data(), n), ss) << "sum of squares is not deterministic";
}

void crossentropy_row(Ctx& c, int N, int V, int Vp, bool with_mask) {
  Rng rng(7);
  const auto logits = randf(static_cast<size_t>(N) * Vp, rng, 3.0);
  std::vector<int32_t> targets(N);
  std::vector<uint8_t> mask(N);
  for (int i = 0; i < N; ++i) {
    mask[i] = N == 1 || rng.below(4) != 0;
    // masked targets may hold any id (here an invalid one): never read
    targets[i] = mask[i] || !with_mask ? static_cast<int32_t>(rng.below(V)) : -1;
  }
  const uint8_t* mp = with_mask ? mask.data() : nullptr;
  const float dloss = 0.1f;
  std::vector<double> losses_r(N), lse_r(N), dl_r = d(logits);
  const double total_r = ref::crossentropy_forward(losses_r.data(), lse_r.data(), dl_r.data(), targets.data(), mp, N,
                                                   V, Vp);
  ref::crossentropy_backward(dl_r.data(), lse_r.data(), targets.data(), mp, static_cast<double>(dloss), N, V, Vp);
  auto d_logits = c.put(logits), d_targets = c.put(targets), d_mask = c.put(mask);
  auto d_losses = c.put(std::vector<float>(N, 9.0f)), d_lse = c.put(std::vector<float>(N, 9.0f));
  const uint8_t* dmp = with_mask ? d_mask.as<uint8_t>() : nullptr;
  const double total = c.be.crossentropy_forward(d_losses.data(), d_lse.data(), d_logits.data(),
                                                 d_targets.as<int32_t>(), dmp, N, V, Vp);
  c.check("total loss", total, total_r);
  c.check("losses", c.getf(d_losses, N), losses_r);
  c.check("lse", c.getf(d_lse, N), lse_r);
  c.be.crossentropy_backward(d_logits.data(), d_lse.data(), d_targets.as<int32_t>(), dmp, dloss, N, V, Vp);
  const auto dl = c.getf(d_logits, logits.size());
  c.check("dlogits (in place)", dl, dl_r);
  for (int i = 0; i < N; ++i)
    for (int v = V; v < Vp; ++v) ASSERT_EQ(dl[static_cast<size_t>(i) * Vp + v], 0.0f) << "padding got a gradient";
}

void adamw_row(Ctx& c, size_t n, int t, float weight_decay, float grad_scale) {
  Rng rng(8);
  auto p = randf(n, rng), g = randf(n, rng), m = randf(n, rng, 0.1), v = randf(n, rng, 0.1);
  for (auto& x : v) x = std::fabs(x);
  ops::AdamWParams hp;
  hp.lr = 1e-3f;
  hp.weight_decay = weight_decay;
  std::vector<double> p_r = d(p), m_r = d(m), v_r = d(v);
  ref::adamw_step(p_r.data(), d(g).data(), m_r.data(), v_r.data(), n, double(hp.lr), double(hp.beta1),
                  double(hp.beta2), double(hp.eps), double(hp.weight_decay), t, double(grad_scale));
  auto d_p = c.put(p), d_g = c.put(g), d_m = c.put(m), d_v = c.put(v);
  c.be.adamw_step(d_p.data(), d_g.data(), d_m.data(), d_v.data(), n, hp, t, grad_scale);
  c.check("params", c.getf(d_p, n), p_r);
  c.check("m", c.getf(d_m, n), m_r);
  c.check("v", c.getf(d_v, n), v_r);
}

std::vector<Row> rows() {
  std::vector<Row> r;
  auto add = [&](std::string name, std::function<void(Ctx&)> fn, double tol = 2e-5) {
    r.push_back(Row{std::move(name), std::move(fn), tol});
    return &r.back();
  };
  add("memory", memory_row);
  add("copy_rows_pitched", [](Ctx& c) { copy_rows_row(c, 7, 12 * 4, 36 * 4, 20 * 4); });
  add("copy_rows_odd_bytes", [](Ctx& c) { copy_rows_row(c, 3, 5, 11, 5); });
  struct Shape {
    int B, T, C, NH;
  };
  const Shape shapes[] = {{1, 1, 8, 1}, {2, 5, 12, 3}, {3, 17, 64, 4}, {2, 33, 96, 6}};
  for (const Shape& s : shapes)
    for (bool with_pos : {false, true})
      add("encoder" + dims({{"B", s.B}, {"T", s.T}, {"C", s.C}}) + (with_pos ? "_positions" : ""),
          [=](Ctx& c) { encoder_row(c, s.B, s.T, s.C, 50, with_pos); });
  add("encoder_repeated_ids_positions", [](Ctx& c) { encoder_row(c, 4, 37, 20, 3, true); });
  struct Rows {  // N rows of C channels (a struct, not a structured binding: clang 14 cannot capture those)
    int N, C;
  };
  for (const Rows r : std::vector<Rows>{{1, 8}, {10, 12}, {51, 64}, {66, 96}, {9, 1000}})
    add("layernorm" + dims({{"N", r.N}, {"C", r.C}}), [r](Ctx& c) { ref_layernorm_row(c, r.N, r.C); });
  for (const Rows r : std::vector<Rows>{{33, 64}, {7, 13}})
    add("residual_layernorm" + dims({{"N", r.N}, {"C", r.C}}), [r](Ctx& c) { residual_layernorm_row(c, r.N, r.C); });
  // GEMMs: odd sizes, and the bf16-friendly ones (multiples of 8) the model has
  struct Mm {
    int N, C, OC;
  };
  for (const Mm& m : {Mm{1, 8, 25}, Mm{10, 12, 37}, Mm{51, 64, 193}, Mm{66, 96, 289}, Mm{65, 48, 80},
                      Mm{130, 64, 384}})
    for (bool bias : {true, false}) {
      Row* row = add("matmul" + dims({{"N", m.N}, {"C", m.C}, {"OC", m.OC}}) + (bias ? "_bias" : ""),
                     [=](Ctx& c) { matmul_row(c, m.N, m.C, m.OC, bias, true); });
      row->gemm = true;
    }
  add("matmul_no_dinp", [](Ctx& c) { matmul_row(c, 37, 64, 96, true, false); })->gemm = true;
  for (const Mm& m : {Mm{37, 64, 256}, Mm{20, 24, 51}, Mm{1, 32, 128}})
    for (bool bias : {true, false})
      for (Activation act : {Activation::kNone, Activation::kGelu}) {
        Row* row = add("fused_matmul" + dims({{"N", m.N}, {"C", m.C}, {"OC", m.OC}}) + (bias ? "_bias" : "") +
                           (act == Activation::kGelu ? "_gelu" : ""),
                       [=](Ctx& c) { fused_matmul_row(c, m.N, m.C, m.OC, bias, act); });
        row->gemm = true;
      }
  // linear: a few rows (the CPU's matvec) and many (its sgemm path)
  for (const Mm& m : {Mm{1, 64, 96}, Mm{3, 17, 7}, Mm{16, 48, 130}, Mm{40, 70, 75}, Mm{2, 64, 384}})
    for (Activation act : {Activation::kNone, Activation::kGelu}) {
      const bool bias = m.N % 2 == 0;
      Row* row = add("linear" + dims({{"N", m.N}, {"C", m.C}, {"OC", m.OC}}) + (bias ? "_bias" : "") +
                         (act == Activation::kGelu ? "_gelu" : ""),
                     [=](Ctx& c) { linear_row(c, m.N, m.C, m.OC, bias, act); });
      row->gemm = row->simd = true;
    }
  for (bool wpe : {false, true})
    for (const Rows r : std::vector<Rows>{{1, 64}, {7, 33}})
      add("embedding_rows" + dims({{"N", r.N}, {"C", r.C}}) + (wpe ? "_wpe" : ""),
          [=](Ctx& c) { embedding_rows_row(c, r.N, 50, r.C, wpe); })
          ->simd = true;
  // attention around the kernels' 32-key tiles and 64-query blocks, head sizes 4..64
  const Shape att[] = {{1, 1, 8, 1},  {2, 5, 12, 3},   {3, 17, 64, 4},  {2, 33, 96, 6}, {1, 64, 16, 2},
                       {2, 130, 24, 3}, {1, 200, 16, 1}, {2, 45, 60, 5}, {1, 130, 64, 2}, {2, 70, 128, 2}};
  for (const Shape& s : att)
    for (Docs docs : {Docs::kNone, Docs::kPacked}) {
      add("attention" + dims({{"B", s.B}, {"T", s.T}, {"C", s.C}, {"NH", s.NH}}) +
              (docs == Docs::kPacked ? "_docs" : ""),
          [=](Ctx& c) { attention_row(c, s.B, s.T, s.NH, s.NH, s.C / s.NH, docs); });
    }
  add("attention_docs_late_start", [](Ctx& c) { attention_row(c, 2, 130, 2, 2, 32, Docs::kLateStart); });
  add("attention_docs_interleaved", [](Ctx& c) { attention_row(c, 1, 97, 2, 2, 16, Docs::kInterleaved); });
  // grouped-query (NKV < NH), multi-query (NKV = 1) and a head size other than C / NH (Qwen3)
  struct Gqa {
    int B, T, NH, NKV, HS;
    bool cpu_only;  // the CUDA kernels take NKV = NH only (yet)
  };
  for (const Gqa& g : {Gqa{2, 33, 4, 2, 16, true}, Gqa{1, 70, 6, 1, 8, true}, Gqa{2, 130, 8, 2, 24, true},
                       Gqa{1, 17, 3, 3, 24, false}})
    for (Docs docs : {Docs::kNone, Docs::kPacked}) {
      Row* row = add("attention_gqa" + dims({{"B", g.B}, {"T", g.T}, {"NH", g.NH}, {"NKV", g.NKV}, {"HS", g.HS}}) +
                         (docs == Docs::kPacked ? "_docs" : ""),
                     [=](Ctx& c) { attention_row(c, g.B, g.T, g.NH, g.NKV, g.HS, docs); });
      row->cpu_only = g.cpu_only;
    }
  add("attention_documents_are_independent", attention_independent_row);
  struct Cached {
    int NH, NKV, HS, pos0, Tq, ldo;
  };
  for (const Cached& k : {Cached{4, 4, 16, 9, 3, 64}, Cached{3, 3, 16, 0, 5, 48}, Cached{2, 2, 16, 40, 1, 96},
                          Cached{2, 2, 8, 130, 1, 16}, Cached{3, 3, 8, 17, 70, 24}, Cached{4, 2, 16, 9, 3, 64},
                          Cached{6, 1, 8, 40, 2, 48}, Cached{4, 2, 24, 5, 4, 96}})
    add("attention_cached" + dims({{"NH", k.NH}, {"NKV", k.NKV}, {"HS", k.HS}, {"pos", k.pos0}, {"Tq", k.Tq},
                                   {"ldo", k.ldo}}),
        [=](Ctx& c) { attention_cached_row(c, k.NH, k.NKV, k.HS, k.pos0, k.Tq, k.ldo); })
        ->cpu_only = k.NKV != k.NH;
  for (size_t n : {size_t{1}, size_t{1001}, size_t{(1 << 20) + 3}})
    add("elementwise_n" + std::to_string(n), [n](Ctx& c) { elementwise_row(c, n); });
  struct Ce {
    int N, V, Vp;
  };
  for (const Ce& e : {Ce{37, 90, 128}, Ce{37, 300, 384}, Ce{1, 5, 128}})
    for (bool mask : {false, true})
      add("crossentropy" + dims({{"N", e.N}, {"V", e.V}, {"Vp", e.Vp}}) + (mask ? "_mask" : ""),
          [=](Ctx& c) { crossentropy_row(c, e.N, e.V, e.Vp, mask); });
  add("adamw_first_step", [](Ctx& c) { adamw_row(c, 3000, 1, 0.1f, 1.0f); });
  add("adamw_step7_clipped", [](Ctx& c) { adamw_row(c, 1001, 7, 0.1f, 0.5f); });
  add("adamw_no_decay", [](Ctx& c) { adamw_row(c, 1, 3, 0.0f, 1.0f); });
  return r;
}

// --- the table -----------------------------------------------------------------------------

struct Case {
  Row row;
  Column col;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.row.name << " on " << c.col.name; }

std::vector<Column> columns() {
  // cpu_bf16: `train --dtype bf16` on the CPU (AVX512-BF16 where present, else emulated)
  std::vector<Column> cols = {{"cpu"}, {"cpu_bf16", false, true}};
  // the CPU again at every lower SIMD level this machine and build run (for the simd rows)
  const ops::SimdLevel saved = ops::simd_level();
  for (ops::SimdLevel l : {ops::SimdLevel::kAvx2, ops::SimdLevel::kScalar})
    if (static_cast<int>(l) < static_cast<int>(saved) && ops::set_simd_level(l) == l)
      cols.push_back({std::string("cpu_") + ops::simd_level_name(l), false, false, static_cast<int>(l)});
  ops::set_simd_level(saved);
  if (ops::cuda_built()) {
    cols.push_back({"cuda_fp32", true, false});
    cols.push_back({"cuda_bf16", true, true});
  }
  return cols;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const auto rs = rows();
  for (const Column& col : columns())
    for (const Row& row : rs) {
      if (col.bf16 && !row.gemm) continue;      // the bf16 column differs from fp32 in its GEMMs only
      if (col.simd >= 0 && !row.simd) continue;  // lower SIMD levels change only the decode kernels
      out.push_back({row, col});
    }
  return out;
}

class BackendOps : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Column& col = GetParam().col;
    std::string why;
    backend_ = open_backend(col, &why);
    if (!backend_) GTEST_SKIP() << col.name << ": " << why;
    saved_simd_ = ops::simd_level();
    if (col.simd >= 0) ops::set_simd_level(static_cast<ops::SimdLevel>(col.simd));
  }
  void TearDown() override {
    if (backend_) ops::set_simd_level(saved_simd_);
  }
  std::shared_ptr<ops::Backend> backend_;
  ops::SimdLevel saved_simd_ = ops::SimdLevel::kScalar;
};

TEST_P(BackendOps, MatchesReference) {
  const Case& c = GetParam();
  Ctx ctx{*backend_, c.col.bf16, c.col.bf16 ? c.row.tol_bf16 : c.row.tol, !c.col.cuda};
  if (c.row.cpu_only && c.col.cuda) {  // refused with a clear error, never a wrong result
    EXPECT_THROW(c.row.run(ctx), Error);
    return;
  }
  c.row.run(ctx);
  backend_->synchronize();  // an asynchronous device error belongs to this row
}

INSTANTIATE_TEST_SUITE_P(Table, BackendOps, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return i.param.row.name + "_on_" + i.param.col.name;
                         });

}  // namespace
