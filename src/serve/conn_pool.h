// ConnectionPool: the cpp-httplib TaskQueue of `chatforge serve`: one thread per open
// connection, up to the connection cap. Threads are started on demand and end after a
// while idle, so the process holds few threads when few clients are connected. Admission
// is ConnRegistry's: a connection it refuses is handed to `refuse` on the accepting thread
// (which answers 503 without blocking), never queued behind the others.
#pragma once
#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "serve/conn_registry.h"

namespace chatforge::serve {

class ConnectionPool final : public httplib::TaskQueue {
 public:
  using Refuse = std::function<void(const std::function<void()>& job)>;
  ConnectionPool(ConnRegistry& registry, size_t max_threads, Refuse refuse);
  ~ConnectionPool() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;  // lets queued jobs run, then waits for every thread to end

 private:
  void worker();

  ConnRegistry& registry_;
  const size_t max_threads_;
  Refuse refuse_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::function<void()>> jobs_;
  size_t threads_ = 0, idle_ = 0;
  bool stopping_ = false;
};

}  // namespace chatforge::serve
