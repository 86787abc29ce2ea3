// LingeringCloser: closes sockets whose client may still be sending (a 413/431/408/503
// answered before the request was read to its end). Closing such a socket at once makes
// the kernel send a reset, and the client may lose the answer it has not read yet; so the
// write side is shut down (the client sees the answer and EOF) and one background thread
// reads and discards what still arrives until the client closes, 2 seconds pass or 64 MiB
// were discarded (loopback socket buffers alone hold several MB). At most 64 sockets linger; beyond that they are closed at once.
#pragma once
#include <mutex>
#include <thread>
#include <vector>

namespace chatforge::serve {

class LingeringCloser {
 public:
  LingeringCloser();
  ~LingeringCloser();  // closes whatever still lingers
  LingeringCloser(const LingeringCloser&) = delete;
  LingeringCloser& operator=(const LingeringCloser&) = delete;

  void close_later(int fd);  // takes ownership of fd

 private:
  void run();

  std::mutex mu_;
  std::vector<int> incoming_;
  size_t lingering_ = 0;
  int wake_[2] = {-1, -1};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace chatforge::serve
