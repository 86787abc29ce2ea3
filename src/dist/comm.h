// The communication interface of data-parallel training: a group of `world` ranks that
// sum, scatter, gather and broadcast flat float buffers. LocalComm is the one-rank group
// (every call a no-op); MpiComm (mpi_comm.cpp) runs over MPI; an NCCL one can follow.
// Every collective must be called by all ranks in the same order with the same sizes.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace chatforge::dist {

// An all-reduce in flight; wait() returns once the buffer holds the sum.
class Request {
 public:
  virtual ~Request() = default;
  virtual void wait() = 0;
};

// A request that was complete when it was made (a one-rank group, or work done at once).
class CompletedRequest final : public Request {
 public:
  void wait() override {}
};

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  virtual std::string backend() const = 0;  // "local" | "mpi"

  // In place: every rank ends with the element-wise sum over ranks.
  virtual void all_reduce_sum(float* data, size_t n) = 0;
  virtual void all_reduce_sum(double* data, size_t n) = 0;
  // Starts an in-place sum of data[0..n) and returns at once; the buffer must not be
  // touched until wait(). progress() lets the library advance requests in flight.
  virtual std::unique_ptr<Request> all_reduce_sum_async(float* data, size_t n) = 0;
  virtual void progress() {}
  // In place over data = world blocks of counts[r] floats laid end to end: afterwards
  // rank r's own block holds the sum of everyone's block r (other blocks undefined).
  virtual void reduce_scatter_sum(float* data, const std::vector<size_t>& counts) = 0;
  // In place over the same layout: every rank contributes its own block r and ends with
  // all blocks.
  virtual void all_gather(float* data, const std::vector<size_t>& counts) = 0;
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;

  // Seconds this rank spent blocked inside collectives (and waits) since the last reset:
  // the "communication" side of a step's time.
  double comm_seconds() const { return comm_seconds_; }
  void reset_comm_seconds() { comm_seconds_ = 0; }

  // Ends the whole job after an error on this rank: prints "error: rank R: message" and,
  // with more than one rank, stops the others too (MPI_Abort) instead of leaving them
  // waiting in the next collective. With one rank it only returns (the caller rethrows).
  virtual void abort_job(const std::string& message) { (void)message; }

 protected:
  double comm_seconds_ = 0;
};

// One rank, no communication.
class LocalComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  std::string backend() const override { return "local"; }
  void all_reduce_sum(float*, size_t) override {}
  void all_reduce_sum(double*, size_t) override {}
  std::unique_ptr<Request> all_reduce_sum_async(float*, size_t) override;
  void reduce_scatter_sum(float*, const std::vector<size_t>&) override {}
  void all_gather(float*, const std::vector<size_t>&) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
};

// True when this process was started by a launcher (mpirun/mpiexec, srun, another PMI)
// as one of several ranks; read from the environment only, so plain `chatforge` never
// touches MPI.
bool launched_as_rank();

// MpiComm when launched_as_rank(), else LocalComm. timeout_s bounds each collective:
// a rank that waits longer (a peer died or hangs) stops the job with a clear message.
std::unique_ptr<Comm> make_comm(double timeout_s = 300);

// Balanced contiguous split of n items over `world` ranks: counts[r] = items of rank r
// (the first n % world ranks take one more). shard_counts(10, 3) -> {4, 3, 3}.
std::vector<size_t> shard_counts(size_t n, int world);

}  // namespace chatforge::dist
