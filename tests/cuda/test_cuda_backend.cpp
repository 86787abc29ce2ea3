// What the CUDA backend does differently from the CPU one, beyond the shared op table
// (tests/unit/test_backend_ops.cpp): how it is made (and the one-line error without a
// GPU, checked on machines without one too), its name, and what it refuses with a clear
// error instead of computing wrong numbers: head sizes over 64, weights in a reduced
// format, token ids outside the table.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/gpt.h"
#include "model/infer_weights.h"
#include "ops/backend.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/device.h"
#include "test_util.h"

namespace chatforge {
namespace {

using testing::error_of;

ops::Device cuda_device(bool bf16) {
  ops::Device d;
  d.cuda = true;
  d.bf16 = bf16;
  return d;
}

TEST(CudaBackend, MadeWhereAGpuIsElseAOneLineError) {
  if (cuda::device_count() == 0) {
    const std::string e = error_of([] { ops::make_backend(cuda_device(false)); });
    EXPECT_NE(e.find("--device cuda: no usable CUDA GPU"), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    return;
  }
  ops::activate_device(cuda_device(false));
  for (bool bf16 : {false, true}) {
    const auto be = ops::make_backend(cuda_device(bf16));
    EXPECT_FALSE(be->host_memory());
    EXPECT_EQ(be->name(), "cuda:" + std::to_string(cuda::current_device()) + (bf16 ? " (bf16)" : " (fp32)"));
    EXPECT_TRUE(be->supports_format(ops::WeightFormat::kF32));
    EXPECT_FALSE(be->supports_format(ops::WeightFormat::kInt8));
  }
}

class CudaBackendErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device: " << cuda::no_device_reason();
    ops::activate_device(cuda_device(false));
    be_ = ops::make_backend(cuda_device(false));
  }
  std::shared_ptr<ops::Backend> be_;
};

TEST_F(CudaBackendErrors, HeadSizeOver64IsRefused) {
  ops::Buffer qkv(*be_, 3 * 128 * 4 * sizeof(float)), out(*be_, 128 * 4 * sizeof(float)), lse(*be_, 64);
  const std::string e =
      error_of([&] { be_->attention_forward(out.data(), lse.data(), qkv.data(), nullptr, 1, 4, 1, 1, 128); });
  EXPECT_NE(e.find("head size 128"), std::string::npos) << e;
}

TEST_F(CudaBackendErrors, ReducedWeightFormatsAreRefused) {
  model::GptConfig cfg;
  cfg.n_layer = 1;
  cfg.n_head = 2;
  cfg.n_embd = 32;
  cfg.vocab_size = 50;
  cfg.n_ctx = 16;
  model::Gpt gpu(cfg, be_);
  const std::string e = error_of([&] { model::InferWeights w(gpu, ops::WeightFormat::kF16); });
  EXPECT_NE(e.find("fp32 weights only"), std::string::npos) << e;
}

TEST_F(CudaBackendErrors, EmbeddingIdOutsideTheTableIsRefused) {
  ops::Buffer table(*be_, 10 * 8 * sizeof(float)), out(*be_, 2 * 8 * sizeof(float));
  const ops::WeightMatrix m{ops::WeightFormat::kF32, table.data(), nullptr, 10, 8};
  const int32_t ids[] = {3, 10}, pos[] = {0, 1};
  const std::string e = error_of([&] { be_->embedding_rows(out.data(), ids, pos, m, nullptr, 2); });
  EXPECT_NE(e.find("token id 10"), std::string::npos) << e;
}

}  // namespace
}  // namespace chatforge
