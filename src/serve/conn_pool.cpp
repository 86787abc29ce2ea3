// ConnectionPool: on-demand threads, one per admitted connection, capped.
#include "serve/conn_pool.h"

#include <chrono>
#include <system_error>
#include <thread>

namespace chatforge::serve {
namespace {
constexpr size_t kWarmThreads = 4;                        // kept however long they idle
constexpr std::chrono::seconds kIdleThreadLifetime{30};  // the others end after this idle
}  // namespace

ConnectionPool::ConnectionPool(ConnRegistry& registry, size_t max_threads, Refuse refuse)
    : registry_(registry), max_threads_(max_threads), refuse_(std::move(refuse)) {}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::enqueue(std::function<void()> fn) {
  if (!registry_.admit()) {
    refuse_(fn);
    return;
  }
  std::unique_lock<std::mutex> lk(mu_);
  jobs_.push_back(std::move(fn));
  // every queued job needs a waiting thread; at the cap it waits for an evicted one to end
  if (jobs_.size() > idle_ && threads_ < max_threads_) {
    try {
      std::thread(&ConnectionPool::worker, this).detach();
      ++threads_;
    } catch (const std::system_error&) {
      if (threads_ == 0) {  // no thread will ever take it: answer 503 instead
        auto job = std::move(jobs_.back());
        jobs_.pop_back();
        lk.unlock();
        registry_.release();
        refuse_(job);
        return;
      }
    }
  }
  work_cv_.notify_one();
}

void ConnectionPool::worker() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    ++idle_;
    const bool got = work_cv_.wait_for(lk, kIdleThreadLifetime, [this] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty()) {
      if (stopping_ || (!got && threads_ > kWarmThreads)) break;
      continue;
    }
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    job();
    registry_.release();
    lk.lock();
  }
  --threads_;
  done_cv_.notify_all();
}

void ConnectionPool::shutdown() {
  std::unique_lock<std::mutex> lk(mu_);
  stopping_ = true;
  work_cv_.notify_all();
  lk.unlock();
  registry_.close_waiting();
  lk.lock();
  done_cv_.wait(lk, [this] { return threads_ == 0; });
}

}  // namespace chatforge::serve
