// Scalar reference versions of every op in ops.h and ops/backend.h, templated on the number
// type and run in double by the tests. Written for obviousness, not speed: every backend's
// kernels (cpu/, cuda/) are checked against these (tests/unit/test_backend_ops.cpp), and
// these against finite differences and closed forms. Same contracts (shapes, accumulation
// rules) as ops.h; weights in a storage format are given here as their dense values.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chatforge::ops::reference {

template <typename F>
void encoder_forward(F* out, const int32_t* inp, const int32_t* pos, const F* wte, const F* wpe, int B, int T, int C) {
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const int p = pos != nullptr ? pos[b * T + t] : t;
      for (int c = 0; c < C; ++c)
        out[(b * T + t) * C + c] =
            wte[static_cast<size_t>(inp[b * T + t]) * C + c] + (wpe != nullptr ? wpe[p * C + c] : F(0));
    }
}

template <typename F>
void encoder_backward(F* dwte, F* dwpe, const F* dout, const int32_t* inp, const int32_t* pos, int B, int T, int C) {
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const int p = pos != nullptr ? pos[b * T + t] : t;
      for (int c = 0; c < C; ++c) {
        const F d = dout[(b * T + t) * C + c];
        dwte[static_cast<size_t>(inp[b * T + t]) * C + c] += d;
        if (dwpe != nullptr) dwpe[p * C + c] += d;
      }
    }
}

template <typename F>
void layernorm_forward(F* out, F* mean, F* rstd, const F* inp, const F* w, const F* bias, int N, int C) {
  for (int i = 0; i < N; ++i) {
    const F* x = inp + static_cast<size_t>(i) * C;
    F m = 0;
    for (int c = 0; c < C; ++c) m += x[c];
    m /= C;
    F var = 0;
    for (int c = 0; c < C; ++c) var += (x[c] - m) * (x[c] - m);
    var /= C;
    const F s = F(1) / std::sqrt(var + F(1e-5));
    for (int c = 0; c < C; ++c) out[static_cast<size_t>(i) * C + c] = (x[c] - m) * s * w[c] + bias[c];
    mean[i] = m;
    rstd[i] = s;
  }
}

template <typename F>
void layernorm_backward(F* dinp, F* dw, F* db, const F* dout, const F* inp, const F* w, const F* mean,
                        const F* rstd, int N, int C) {
  for (int i = 0; i < N; ++i) {
    const F* x = inp + static_cast<size_t>(i) * C;
    const F* dy = dout + static_cast<size_t>(i) * C;
    // forward was: y = xhat * w + b with xhat = (x - mean) * rstd
    F dnorm_mean = 0, dnorm_norm_mean = 0;
    for (int c = 0; c < C; ++c) {
      const F xhat = (x[c] - mean[i]) * rstd[i];
      const F dnorm = w[c] * dy[c];
      dnorm_mean += dnorm;
      dnorm_norm_mean += dnorm * xhat;
    }
    dnorm_mean /= C;
    dnorm_norm_mean /= C;
    for (int c = 0; c < C; ++c) {
      const F xhat = (x[c] - mean[i]) * rstd[i];
      const F dnorm = w[c] * dy[c];
      db[c] += dy[c];
      dw[c] += xhat * dy[c];
      dinp[static_cast<size_t>(i) * C + c] += (dnorm - dnorm_mean - xhat * dnorm_norm_mean) * rstd[i];
    }
  }
}

template <typename F>
void matmul_forward(F* out, const F* inp, const F* w, const F* bias, int N, int C, int OC) {
  for (int i = 0; i < N; ++i)
    for (int o = 0; o < OC; ++o) {
      F acc = bias ? bias[o] : F(0);
      for (int c = 0; c < C; ++c) acc += inp[static_cast<size_t>(i) * C + c] * w[static_cast<size_t>(o) * C + c];
      out[static_cast<size_t>(i) * OC + o] = acc;
    }
}

template <typename F>
void matmul_backward(F* dinp, F* dw, F* dbias, const F* dout, const F* inp, const F* w, int N, int C, int OC) {
  // forward was: out = inp @ w^T + bias, so dinp = dout @ w, dw += dout^T @ inp, dbias += sum(dout)
  if (dinp)
    for (int i = 0; i < N; ++i)
      for (int c = 0; c < C; ++c) {
        F acc = 0;
        for (int o = 0; o < OC; ++o) acc += dout[static_cast<size_t>(i) * OC + o] * w[static_cast<size_t>(o) * C + c];
        dinp[static_cast<size_t>(i) * C + c] = acc;
      }
  for (int o = 0; o < OC; ++o) {
    for (int c = 0; c < C; ++c) {
      F acc = 0;
      for (int i = 0; i < N; ++i) acc += dout[static_cast<size_t>(i) * OC + o] * inp[static_cast<size_t>(i) * C + c];
      if (dw) dw[static_cast<size_t>(o) * C + c] += acc;
    }
    if (dbias) {
      F acc = 0;
      for (int i = 0; i < N; ++i) acc += dout[static_cast<size_t>(i) * OC + o];
      dbias[o] += acc;
    }
  }
}

// Query t may see key s iff s <= t and both are in the same document (doc may be null).
inline bool attention_visible(const int32_t* doc, int b, int T, int t, int s) {
  return s <= t && (doc == nullptr || doc[b * T + s] == doc[b * T + t]);
}

template <typename F>
void attention_forward(F* out, F* lse, const F* qkv, const int32_t* doc, int B, int T, int NH, int NKV, int HS) {
  const F scale = F(1) / std::sqrt(F(HS));
  const int W = (NH + 2 * NKV) * HS, Q = NH * HS, group = NH / NKV;
  std::vector<F> p(T);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h)
      for (int t = 0; t < T; ++t) {
        const F* q = qkv + (static_cast<size_t>(b) * T + t) * W + h * HS;
        const int koff = Q + (h / group) * HS, voff = Q + NKV * HS + (h / group) * HS;
        F maxv = -1e300;
        for (int s = 0; s <= t; ++s) {
          if (!attention_visible(doc, b, T, t, s)) continue;
          const F* k = qkv + (static_cast<size_t>(b) * T + s) * W + koff;
          F dot = 0;
          for (int i = 0; i < HS; ++i) dot += q[i] * k[i];
          p[s] = dot * scale;
          if (p[s] > maxv) maxv = p[s];
        }
        F sum = 0;
        for (int s = 0; s <= t; ++s) {
          p[s] = attention_visible(doc, b, T, t, s) ? std::exp(p[s] - maxv) : F(0);
          sum += p[s];
        }
        lse[(static_cast<size_t>(b) * NH + h) * T + t] = maxv + std::log(sum);
        F* o = out + (static_cast<size_t>(b) * T + t) * Q + h * HS;
        for (int i = 0; i < HS; ++i) {
          F acc = 0;
          for (int s = 0; s <= t; ++s) acc += p[s] / sum * qkv[(static_cast<size_t>(b) * T + s) * W + voff + i];
          o[i] = acc;
        }
      }
}

// The probabilities are recomputed from lse (p = exp(score - lse)) and the softmax
// backward's dot from the output (D = dout . out), as the fast kernel does.
template <typename F>
void attention_backward(F* dqkv, const F* dout, const F* qkv, const F* out, const F* lse, const int32_t* doc, int B,
                        int T, int NH, int NKV, int HS) {
  const F scale = F(1) / std::sqrt(F(HS));
  const int W = (NH + 2 * NKV) * HS, Q = NH * HS, group = NH / NKV;
  for (size_t i = 0; i < static_cast<size_t>(B) * T * W; ++i) dqkv[i] = 0;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h)
      for (int t = 0; t < T; ++t) {
        const int koff = Q + (h / group) * HS, voff = Q + NKV * HS + (h / group) * HS;
        const F* q = qkv + (static_cast<size_t>(b) * T + t) * W + h * HS;
        const F* dy = dout + (static_cast<size_t>(b) * T + t) * Q + h * HS;
        const F* y = out + (static_cast<size_t>(b) * T + t) * Q + h * HS;
        F* dq = dqkv + (static_cast<size_t>(b) * T + t) * W + h * HS;
        const F l = lse[(static_cast<size_t>(b) * NH + h) * T + t];
        F d = 0;
        for (int i = 0; i < HS; ++i) d += dy[i] * y[i];
        for (int s = 0; s <= t; ++s) {
          if (!attention_visible(doc, b, T, t, s)) continue;
          const F* k = qkv + (static_cast<size_t>(b) * T + s) * W + koff;
          const F* v = qkv + (static_cast<size_t>(b) * T + s) * W + voff;
          F* dk = dqkv + (static_cast<size_t>(b) * T + s) * W + koff;
          F* dv = dqkv + (static_cast<size_t>(b) * T + s) * W + voff;
          F dot = 0, dpv = 0;
          for (int i = 0; i < HS; ++i) {
            dot += q[i] * k[i];
            dpv += dy[i] * v[i];
          }
          // forward was: p = exp(scale * q.k - lse); out = sum_s p[s] v[s]
          const F ps = std::exp(dot * scale - l);
          for (int i = 0; i < HS; ++i) dv[i] += ps * dy[i];
          // softmax backward: dscore = p * (dp - sum_s p dp) and sum_s p dp = dy . out
          const F ds = ps * (dpv - d);
          for (int i = 0; i < HS; ++i) {
            dq[i] += ds * k[i] * scale;
            dk[i] += ds * q[i] * scale;
          }
        }
      }
}

template <typename F>
F gelu_value(F x) {
  const F k = std::sqrt(F(2) / F(M_PI));
  return F(0.5) * x * (F(1) + std::tanh(k * (x + F(0.044715) * x * x * x)));
}

template <typename F>
void gelu_forward(F* out, const F* inp, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = gelu_value(inp[i]);
}

template <typename F>
void gelu_backward(F* dinp, const F* inp, const F* dout, size_t n) {
  const F k = std::sqrt(F(2) / F(M_PI));
  for (size_t i = 0; i < n; ++i) {
    const F x = inp[i];
    const F u = k * (x + F(0.044715) * x * x * x);
    const F th = std::tanh(u);
    const F sech2 = F(1) - th * th;
    // forward was: y = 0.5 x (1 + tanh(u)), so dy/dx = 0.5 (1 + tanh u) + 0.5 x sech^2(u) du/dx
    const F grad = F(0.5) * (F(1) + th) + F(0.5) * x * sech2 * k * (F(1) + F(3) * F(0.044715) * x * x);
    dinp[i] = grad * dout[i];
  }
}

template <typename F>
void residual_forward(F* out, const F* a, const F* b, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

template <typename F>
double crossentropy_forward(F* losses, F* lse, const F* logits, const int32_t* targets, const uint8_t* mask, int N,
                            int V, int Vp) {
  double total = 0;
  for (int i = 0; i < N; ++i) {
    const F* row = logits + static_cast<size_t>(i) * Vp;
    F maxv = row[0];
    for (int v = 1; v < V; ++v) maxv = row[v] > maxv ? row[v] : maxv;
    F sum = 0;
    for (int v = 0; v < V; ++v) sum += std::exp(row[v] - maxv);
    lse[i] = maxv + std::log(sum);
    const bool on = mask == nullptr || mask[i] != 0;
    losses[i] = on ? lse[i] - row[targets[i]] : F(0);
    total += static_cast<double>(losses[i]);
  }
  return total;
}

template <typename F>
void crossentropy_backward(F* logits, const F* lse, const int32_t* targets, const uint8_t* mask, F dloss, int N, int V,
                           int Vp) {
  for (int i = 0; i < N; ++i) {
    F* row = logits + static_cast<size_t>(i) * Vp;
    const F w = (mask == nullptr || mask[i] != 0) ? dloss : F(0);
    // forward was: loss = lse - logit[target], so dlogit[v] = softmax[v] - (v == target)
    for (int v = 0; v < Vp; ++v) {
      row[v] = v < V ? (std::exp(row[v] - lse[i]) - (v == targets[i] ? F(1) : F(0))) * w : F(0);
    }
  }
}

// Attention of Tq new queries over a key/value cache (see ops.h for the layout).
template <typename F>
void attention_cached_forward(F* out, int ldo, const F* q, int ldq, const F* kcache, const F* vcache, int pos0,
                              int Tq, int NH, int NKV, int HS) {
  const F scale = F(1) / std::sqrt(F(HS));
  const int KV = NKV * HS, group = NH / NKV;
  std::vector<F> p(static_cast<size_t>(pos0) + Tq);
  for (int t = 0; t < Tq; ++t)
    for (int h = 0; h < NH; ++h) {
      const int n = pos0 + t + 1, kv = (h / group) * HS;
      F maxv = -1e30, sum = 0;
      for (int s = 0; s < n; ++s) {
        F dot = 0;
        for (int i = 0; i < HS; ++i)
          dot += q[static_cast<size_t>(t) * ldq + h * HS + i] * kcache[static_cast<size_t>(s) * KV + kv + i];
        p[s] = dot * scale;
        if (p[s] > maxv) maxv = p[s];
      }
      for (int s = 0; s < n; ++s) sum += (p[s] = std::exp(p[s] - maxv));
      for (int i = 0; i < HS; ++i) {
        F acc = 0;
        for (int s = 0; s < n; ++s) acc += p[s] / sum * vcache[static_cast<size_t>(s) * KV + kv + i];
        out[static_cast<size_t>(t) * ldo + h * HS + i] = acc;
      }
    }
}

// Backend::embedding_rows over a dense table (V, C): out (N, C) = table[ids[i]] (+ wpe[pos[i]]
// when wpe is not null).
template <typename F>
void embedding_rows(F* out, const int32_t* ids, const int32_t* pos, const F* table, const F* wpe, int N, int C) {
  for (int i = 0; i < N; ++i)
    for (int c = 0; c < C; ++c)
      out[static_cast<size_t>(i) * C + c] = table[static_cast<size_t>(ids[i]) * C + c] +
                                            (wpe != nullptr ? wpe[static_cast<size_t>(pos[i]) * C + c] : F(0));
}

// Backend::linear_forward over dense weights (OC, C): out (N, OC) = act(inp @ w^T + bias),
// act GELU (tanh form) when gelu, bias may be null. (Backend::fused_matmul_forward is the
// same with the value before GELU kept.)
template <typename F>
void linear_forward(F* out, const F* inp, const F* w, const F* bias, int N, int C, int OC, bool gelu) {
  matmul_forward(out, inp, w, bias, N, C, OC);
  if (gelu) gelu_forward(out, out, static_cast<size_t>(N) * OC);
}

// Backend::copy_rows: `rows` rows of `row_bytes` bytes, rows `dst_pitch` / `src_pitch` apart.
inline void copy_rows(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes, size_t rows) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < row_bytes; ++i)
      static_cast<unsigned char*>(dst)[r * dst_pitch + i] = static_cast<const unsigned char*>(src)[r * src_pitch + i];
}

// AdamW as torch.optim.AdamW (decoupled decay), step t from 1, in F throughout:
//   g = grad * grad_scale;  p *= 1 - lr*wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)
template <typename F>
void adamw_step(F* params, const F* grads, F* m, F* v, size_t n, F lr, F beta1, F beta2, F eps, F weight_decay, int t,
                F grad_scale) {
  const F bias1 = F(1) - std::pow(beta1, F(t)), bias2 = F(1) - std::pow(beta2, F(t));
  for (size_t i = 0; i < n; ++i) {
    const F g = grads[i] * grad_scale;
    m[i] = beta1 * m[i] + (F(1) - beta1) * g;
    v[i] = beta2 * v[i] + (F(1) - beta2) * g * g;
    params[i] *= F(1) - lr * weight_decay;
    params[i] -= lr / bias1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bias2) + eps);
  }
}

template <typename F>
double sum_squares(const F* x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return s;
}

// --- the Llama family (contracts in ops.h) ---------------------------------------------

template <typename F>
void rmsnorm_forward(F* out, F* rstd, const F* inp, const F* w, int N, int H, int D, int ld, F eps) {
  for (int i = 0; i < N; ++i)
    for (int h = 0; h < H; ++h) {
      const F* x = inp + static_cast<size_t>(i) * ld + h * D;
      F* y = out + static_cast<size_t>(i) * ld + h * D;
      F ss = 0;
      for (int c = 0; c < D; ++c) ss += x[c] * x[c];
      const F s = F(1) / std::sqrt(ss / D + eps);
      for (int c = 0; c < D; ++c) y[c] = x[c] * s * w[c];
      rstd[static_cast<size_t>(i) * H + h] = s;
    }
}

template <typename F>
void rmsnorm_backward(F* dinp, F* dw, const F* dout, const F* inp, const F* w, const F* rstd, int N, int H, int D,
                      int ld, bool accumulate) {
  std::vector<F> dx(D);
  for (int i = 0; i < N; ++i)
    for (int h = 0; h < H; ++h) {
      const size_t at = static_cast<size_t>(i) * ld + h * D;
      const F* x = inp + at;
      const F* dy = dout + at;
      const F s = rstd[static_cast<size_t>(i) * H + h];
      // forward was: y = x * s * w with s = (mean(x^2) + eps)^(-1/2), ds/dx_c = -s^3 x_c / D
      F dot = 0;
      for (int c = 0; c < D; ++c) dot += dy[c] * w[c] * x[c];
      for (int c = 0; c < D; ++c) {
        dx[c] = s * dy[c] * w[c] - s * s * s * x[c] * dot / D;
        dw[c] += dy[c] * x[c] * s;
      }
      for (int c = 0; c < D; ++c) dinp[at + c] = (accumulate ? dinp[at + c] : F(0)) + dx[c];
    }
}

template <typename F>
void rope_apply(F* x, const int32_t* pos, const F* inv_freq, F scale, int N, int H, int HS, int ld, F sign) {
  const int half = HS / 2;
  for (int i = 0; i < N; ++i)
    for (int h = 0; h < H; ++h) {
      F* v = x + static_cast<size_t>(i) * ld + h * HS;
      for (int k = 0; k < half; ++k) {
        const F a = static_cast<F>(pos[i]) * inv_freq[k];
        const F c = std::cos(a) * scale, s = sign * std::sin(a) * scale;
        const F x0 = v[k], x1 = v[k + half];
        v[k] = x0 * c - x1 * s;
        v[k + half] = x1 * c + x0 * s;
      }
    }
}
template <typename F>
void rope_forward(F* x, const int32_t* pos, const F* inv_freq, F scale, int N, int H, int HS, int ld) {
  rope_apply(x, pos, inv_freq, scale, N, H, HS, ld, F(1));
}
template <typename F>
void rope_backward(F* dx, const int32_t* pos, const F* inv_freq, F scale, int N, int H, int HS, int ld) {
  // forward was: x' = R(angle) x * scale, so dx = R(angle)^T dx' * scale = R(-angle) dx' * scale
  rope_apply(dx, pos, inv_freq, scale, N, H, HS, ld, F(-1));
}

template <typename F>
void swiglu_forward(F* out, const F* inp, int N, int Fw) {
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < Fw; ++j) {
      const F g = inp[static_cast<size_t>(i) * 2 * Fw + j], u = inp[static_cast<size_t>(i) * 2 * Fw + Fw + j];
      out[static_cast<size_t>(i) * Fw + j] = g / (F(1) + std::exp(-g)) * u;
    }
}
template <typename F>
void swiglu_backward(F* dinp, const F* inp, const F* dout, int N, int Fw) {
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < Fw; ++j) {
      const size_t r = static_cast<size_t>(i) * 2 * Fw;
      const F g = inp[r + j], u = inp[r + Fw + j], dy = dout[static_cast<size_t>(i) * Fw + j];
      const F sg = F(1) / (F(1) + std::exp(-g));
      // forward was: y = g * sg * u
      dinp[r + j] = dy * u * sg * (F(1) + g * (F(1) - sg));
      dinp[r + Fw + j] = dy * g * sg;
    }
}

}  // namespace chatforge::ops::reference
