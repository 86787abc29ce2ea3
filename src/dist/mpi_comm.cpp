// Implementation of mpi_comm.h: Comm over MPI_COMM_WORLD (MPI_THREAD_FUNNELED: only the
// main thread calls MPI; OpenMP workers never do). Errors are returned, not fatal, so a
// failing call ends the job with a message naming the rank and the collective.
#include "dist/mpi_comm.h"

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/timer.h"

namespace chatforge::dist {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// MPI counts are int: split big buffers into pieces below INT_MAX elements.
constexpr size_t kMaxCount = static_cast<size_t>(INT_MAX) / 2;

class MpiComm;

class MpiRequest final : public Request {
 public:
  MpiRequest(MpiComm* comm, std::vector<MPI_Request> reqs) : comm_(comm), reqs_(std::move(reqs)) {}
  ~MpiRequest() override;
  void wait() override;
  std::vector<MPI_Request>& reqs() { return reqs_; }

 private:
  MpiComm* comm_;
  std::vector<MPI_Request> reqs_;
};

class MpiComm final : public Comm {
 public:
  explicit MpiComm(double timeout_s) : timeout_s_(timeout_s) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &world_);
    if (timeout_s_ > 0) watchdog_ = std::thread([this] { watch(); });
  }

  ~MpiComm() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
    if (!aborted_) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "mpi"; }

  void all_reduce_sum(float* data, size_t n) override {
    Busy b(this, "all-reduce");
    for (size_t i = 0; i < n; i += kMaxCount)
      check(MPI_Allreduce(MPI_IN_PLACE, data + i, static_cast<int>(std::min(kMaxCount, n - i)), MPI_FLOAT, MPI_SUM,
                          MPI_COMM_WORLD),
            "all-reduce");
  }
  void all_reduce_sum(double* data, size_t n) override {
    Busy b(this, "all-reduce");
    for (size_t i = 0; i < n; i += kMaxCount)
      check(MPI_Allreduce(MPI_IN_PLACE, data + i, static_cast<int>(std::min(kMaxCount, n - i)), MPI_DOUBLE, MPI_SUM,
                          MPI_COMM_WORLD),
            "all-reduce");
  }

  std::unique_ptr<Request> all_reduce_sum_async(float* data, size_t n) override {
    Timer t;
    std::vector<MPI_Request> reqs;
    for (size_t i = 0; i < n; i += kMaxCount) {
      MPI_Request r;
      check(MPI_Iallreduce(MPI_IN_PLACE, data + i, static_cast<int>(std::min(kMaxCount, n - i)), MPI_FLOAT, MPI_SUM,
                           MPI_COMM_WORLD, &r),
            "all-reduce (start)");
      reqs.push_back(r);
    }
    auto req = std::make_unique<MpiRequest>(this, std::move(reqs));
    live_.insert(req.get());
    comm_seconds_ += t.seconds();
    return req;
  }

  void progress() override {
    // Without an asynchronous progress thread, OpenMPI advances non-blocking collectives
    // only inside MPI calls: one MPI_Test now and then (between layers) keeps them moving.
    Timer t;
    for (MpiRequest* r : live_)
      for (MPI_Request& q : r->reqs())
        if (q != MPI_REQUEST_NULL) {
          int done = 0;
          check(MPI_Test(&q, &done, MPI_STATUS_IGNORE), "all-reduce (progress)");
          comm_seconds_ += t.seconds();
          return;
        }
  }

  void wait_request(MpiRequest* r) {
    Busy b(this, "all-reduce (wait)");
    for (MPI_Request& q : r->reqs())
      if (q != MPI_REQUEST_NULL) check(MPI_Wait(&q, MPI_STATUS_IGNORE), "all-reduce (wait)");
  }
  void forget(MpiRequest* r) { live_.erase(r); }

  void reduce_scatter_sum(float* data, const std::vector<size_t>& counts) override {
    Busy b(this, "reduce-scatter");
    std::vector<int> c = int_counts(counts);
    // MPI_IN_PLACE: the input is the whole buffer, rank r's result lands at its start.
    check(MPI_Reduce_scatter(MPI_IN_PLACE, data, c.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "reduce-scatter");
    size_t off = 0;
    for (int r = 0; r < rank_; ++r) off += counts[r];
    if (off > 0) std::memmove(data + off, data, counts[rank_] * sizeof(float));
  }

  void all_gather(float* data, const std::vector<size_t>& counts) override {
    Busy b(this, "all-gather");
    std::vector<int> c = int_counts(counts), displ(counts.size());
    size_t off = 0;
    for (size_t r = 0; r < counts.size(); ++r) {
      CF_CHECK(off <= static_cast<size_t>(INT_MAX), "all-gather: buffer of {} floats is too large for MPI", off);
      displ[r] = static_cast<int>(off);
      off += counts[r];
    }
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, c.data(), displ.data(), MPI_FLOAT, MPI_COMM_WORLD),
          "all-gather");
  }

  void broadcast(void* data, size_t bytes, int root) override {
    Busy b(this, "broadcast");
    auto* p = static_cast<char*>(data);
    for (size_t i = 0; i < bytes; i += kMaxCount)
      check(MPI_Bcast(p + i, static_cast<int>(std::min(kMaxCount, bytes - i)), MPI_BYTE, root, MPI_COMM_WORLD),
            "broadcast");
  }

  void barrier() override {
    Busy b(this, "barrier");
    check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
  }

  void abort_job(const std::string& message) override {
    if (world_ > 1) {  // one rank: the caller reports the error as usual
      std::fprintf(stderr, "error: rank %d of %d: %s\n", rank_, world_, message.c_str());
      std::fflush(stderr);
      aborted_ = true;
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }

 private:
  // Marks this rank as blocked in a collective: the watchdog measures from here, and
  // the time counts as communication.
  struct Busy {
    MpiComm* c;
    Timer t;
    Busy(MpiComm* comm, const char* what) : c(comm) {
      c->what_.store(what);
      c->busy_since_.store(now_s());
    }
    ~Busy() {
      c->busy_since_.store(0);
      c->comm_seconds_ += t.seconds();
    }
  };

  static std::vector<int> int_counts(const std::vector<size_t>& counts) {
    std::vector<int> c;
    for (size_t n : counts) {
      CF_CHECK(n <= static_cast<size_t>(INT_MAX), "collective of {} floats per rank is too large for MPI", n);
      c.push_back(static_cast<int>(n));
    }
    return c;
  }

  void check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    abort_job(std::string("MPI ") + what + " failed: " + std::string(msg, len) +
              " (another rank has probably died; the last checkpoint stays valid)");
    fail("MPI {} failed", what);
  }

  // Runs on its own thread; never calls MPI (the library is not initialised for that).
  void watch() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!cv_.wait_for(lk, std::chrono::milliseconds(250), [this] { return stop_; })) {
      const double since = busy_since_.load();
      if (since > 0 && now_s() - since > timeout_s_) {
        std::fprintf(stderr,
                     "error: rank %d of %d: %s waited more than %.0f s (--comm-timeout): another rank has died or "
                     "hangs; stopping this rank (the last checkpoint stays valid)\n",
                     rank_, world_, what_.load(), timeout_s_);
        std::fflush(stderr);
        std::_Exit(1);  // the launcher sees a rank fail and ends the others
      }
    }
  }

  int rank_ = 0, world_ = 1;
  double timeout_s_;
  bool aborted_ = false;
  std::set<MpiRequest*> live_;
  std::atomic<double> busy_since_{0};
  std::atomic<const char*> what_{""};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread watchdog_;
};

MpiRequest::~MpiRequest() {
  wait();
  comm_->forget(this);
}

void MpiRequest::wait() { comm_->wait_request(this); }

}  // namespace

std::unique_ptr<Comm> make_mpi_comm(double timeout_s) { return std::make_unique<MpiComm>(timeout_s); }

}  // namespace chatforge::dist
