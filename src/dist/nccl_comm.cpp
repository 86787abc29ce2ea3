// Implementation of nccl_comm.h. ncclAllReduce / ncclBroadcast / ncclReduce on the current
// device's default stream, waited for before returning (so the Comm contract holds: the
// buffer holds the result when the call returns). Uneven blocks (shard_counts) are done as
// one grouped reduce (or broadcast) per block, since NCCL's reduce-scatter and all-gather
// need equal blocks.
#include "dist/nccl_comm.h"

#include "core/error.h"
#include "core/timer.h"

#ifdef CHATFORGE_HAS_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace chatforge::dist {

#ifdef CHATFORGE_HAS_NCCL

namespace {

void check_nccl(ncclResult_t r, const char* what) {
  CF_CHECK(r == ncclSuccess, "NCCL {} failed: {}", what, ncclGetErrorString(r));
}

class NcclComm final : public Comm {
 public:
  explicit NcclComm(Comm& host) : host_(host) {
    ncclUniqueId id{};
    if (host_.rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    host_.broadcast(&id, sizeof id, 0);
    check_nccl(ncclCommInitRank(&comm_, host_.world(), id, host_.rank()), "ncclCommInitRank");
  }
  ~NcclComm() override {
    if (comm_) ncclCommDestroy(comm_);
  }

  int rank() const override { return host_.rank(); }
  int world() const override { return host_.world(); }
  std::string backend() const override { return "nccl"; }

  void all_reduce_sum(float* data, size_t n) override {
    Timer t;
    check_nccl(ncclAllReduce(data, data, n, ncclFloat32, ncclSum, comm_, nullptr), "all-reduce");
    wait(t);
  }
  void all_reduce_sum(double* data, size_t n) override { host_.all_reduce_sum(data, n); }
  std::unique_ptr<Request> all_reduce_sum_async(float* data, size_t n) override {
    all_reduce_sum(data, n);
    return std::make_unique<CompletedRequest>();
  }
  void reduce_scatter_sum(float* data, const std::vector<size_t>& counts) override {
    Timer t;
    check_nccl(ncclGroupStart(), "group start");
    size_t off = 0;
    for (int r = 0; r < world(); ++r) {
      check_nccl(ncclReduce(data + off, data + off, counts[r], ncclFloat32, ncclSum, r, comm_, nullptr), "reduce");
      off += counts[r];
    }
    check_nccl(ncclGroupEnd(), "group end");
    wait(t);
  }
  void all_gather(float* data, const std::vector<size_t>& counts) override {
    Timer t;
    check_nccl(ncclGroupStart(), "group start");
    size_t off = 0;
    for (int r = 0; r < world(); ++r) {
      check_nccl(ncclBroadcast(data + off, data + off, counts[r], ncclFloat32, r, comm_, nullptr), "broadcast");
      off += counts[r];
    }
    check_nccl(ncclGroupEnd(), "group end");
    wait(t);
  }
  void broadcast(void* data, size_t bytes, int root) override { host_.broadcast(data, bytes, root); }
  void barrier() override { host_.barrier(); }
  void abort_job(const std::string& message) override {
    ncclCommAbort(comm_);
    comm_ = nullptr;
    host_.abort_job(message);
  }

 private:
  void wait(Timer& t) {
    const cudaError_t e = cudaStreamSynchronize(nullptr);
    CF_CHECK(e == cudaSuccess, "NCCL collective: {}", cudaGetErrorString(e));
    comm_seconds_ += t.seconds();
  }

  Comm& host_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

bool nccl_built() { return true; }

std::unique_ptr<Comm> make_nccl_comm(Comm& host) { return std::make_unique<NcclComm>(host); }

#else

bool nccl_built() { return false; }

std::unique_ptr<Comm> make_nccl_comm(Comm&) {
  fail("this chatforge was built without NCCL (it comes with the CUDA toolkit; see docs/cuda.md)");
}

#endif

}  // namespace chatforge::dist
