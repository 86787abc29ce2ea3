// The CUDA kernels behind the CUDA backend (cuda_backend.cc): the ops of ops.h on device
// pointers, with the same contracts (shapes, the accumulation rule, document masks,
// positions, the masked cross-entropy), plus device management. Plain C++ (no CUDA
// headers), so device.cpp and the benches include it from .cpp files; built only when
// CHATFORGE_HAS_CUDA is defined (cmake/cuda.cmake). Everything runs on the current
// device's legacy default stream, so calls are ordered; functions returning a value
// synchronise. Everything above ops/ reaches these through ops::Backend, not directly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "ops/ops.h"

namespace chatforge::cuda {

// --- devices and memory -------------------------------------------------------------
// Number of usable CUDA devices; 0 when there is none or no driver (never throws).
int device_count();
// Why device_count() is 0, in words ("no CUDA-capable device is detected", ...).
std::string no_device_reason();
// Makes device `index` current; throws chatforge::Error naming the index when it does not exist.
void set_device(int index);
int current_device();
std::string device_name(int index);
// Dense bf16 tensor-core peak of the current device in TFLOP/s (from its SM count and
// clock; the MFU denominator), e.g. ~989 for an H100/H200 SXM.
double bf16_peak_tflops();
void* device_alloc(size_t bytes);  // throws Error (with the size) when out of memory
void device_free(void* p) noexcept;
void copy_to_device(void* dst, const void* host_src, size_t bytes);
void copy_to_host(void* host_dst, const void* src, size_t bytes);
void copy_device(void* dst, const void* src, size_t bytes);
// `rows` rows of `width` bytes, device to device, with row pitches in bytes.
void copy_device_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows);
void zero(void* p, size_t bytes);
void synchronize();  // waits and turns an asynchronous kernel error into an Error

// --- precision of the GEMMs ------------------------------------------------------------
// kFp32: fp32 inputs and accumulation (no TF32), for exact comparisons with the CPU.
// kBf16: inputs rounded to bf16, fp32 accumulation and fp32 outputs (tensor cores); the
// weights stay fp32 (master copy) and are rounded per call.
enum class Precision { kFp32, kBf16 };

// --- the ops (device pointers; contracts as in ops.h) -------------------------------------
// pos may be null (positions 0..T-1 in every row).
void encoder_forward(float* out, const int32_t* inp, const int32_t* pos, const float* wte, const float* wpe, int B,
                     int T, int C);
// dwte, dwpe +=; deterministic without atomics: the rows are bucketed by token id (and by
// position when pos is given) on the host, and each bucket adds its rows in row order.
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* inp, const int32_t* pos, int B,
                      int T, int C);
// out (N,C) = table[ids[i]] (+ wpe[pos[i]] when wpe is not null). ids and pos are HOST
// arrays (uploaded here); table is (rows, C) fp32 on the device; ids must be < rows.
void embedding_rows(float* out, const int32_t* ids, const int32_t* pos, const float* table, const float* wpe, int N,
                    int C);

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C);
// Fused residual add + LayerNorm: residual_out = a + b, then out = layernorm(residual_out).
void residual_layernorm_forward(float* residual_out, float* out, float* mean, float* rstd, const float* a,
                                const float* b, const float* weight, const float* bias, int N, int C);
// dinp += ; dweight, dbias += (two-stage deterministic column reduction)
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C);

// out (N,OC) = act(inp (N,C) @ weight(OC,C)^T + bias) through cuBLASLt (bias may be null).
// gelu: GELU (tanh form) after the bias; pre, when not null, receives the value before it.
// With kBf16 the GELU runs in the cuBLASLt epilogue where it has an algorithm for the
// shape (OC a multiple of 8); otherwise, and always with kFp32 (exact), the GEMM writes
// the pre-activation and the GELU kernel follows.
void matmul_forward(float* out, float* pre, const float* inp, const float* weight, const float* bias, int N, int C,
                    int OC, Precision p, bool gelu);
// dinp = (skipped when null); dweight +=; dbias += (skipped when null)
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC, Precision p);

// Causal self-attention with document masks, flash style: the (T,T) scores never reach
// global memory. qkv (B,T,3C), doc (B,T) or null, out (B,T,C), lse (B,NH,T) as in ops.h.
// Head sizes up to 64 (kernels for 8, 16, 32, 64, smaller ones zero-padded); larger ones
// are an Error.
void attention_forward(float* out, float* lse, const float* qkv, const int32_t* doc, int B, int T, int C, int NH);
// dqkv (B,T,3C) = ; out and lse from the forward call.
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                        const int32_t* doc, int B, int T, int C, int NH);
// ops::attention_cached_forward (one sequence, Tq new queries at positions pos0..).
void attention_cached_forward(float* out, int ldo, const float* q, int ldq, const float* kcache, const float* vcache,
                              int pos0, int Tq, int C, int NH);

void gelu_forward(float* out, const float* inp, size_t n);                       // out may alias inp
void gelu_backward(float* dinp, const float* inp, const float* dout, size_t n);  // dinp may alias dout
void residual_forward(float* out, const float* a, const float* b, size_t n);    // out may alias a or b

// losses/lse (N) on the device; returns the sum of the masked losses (summed in row order).
double crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                            const uint8_t* mask, int N, int V, int Vp);
void crossentropy_backward(float* logits_to_dlogits, const float* lse, const int32_t* targets, const uint8_t* mask,
                           float dloss, int N, int V, int Vp);

void adamw_step(float* params, const float* grads, float* m, float* v, size_t n, const ops::AdamWParams& hp, int t,
                float grad_scale);
double sum_squares(const float* x, size_t n);  // deterministic (fixed grid, ordered final sum)
void scale_inplace(float* x, size_t n, float s);

}  // namespace chatforge::cuda
