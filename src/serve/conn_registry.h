// ConnRegistry: the open connections of the server and the admission rule for a new one.
// Below the cap a connection is admitted. At the cap, the connection that has waited
// longest without delivering a complete request (idle keep-alive, dribbling its head or
// its body: what a slowloris client holds) is shut down to make room; only when every
// connection is busy with a complete request (or already shut down, its thread not yet
// gone: a flood of new connections can outrun the evicted ones' exits) is the new one
// refused (503, see HttpServer). Evicting the stalest unfinished request first means a flood of slow
// sockets cannot lock out a client that sends its request at once.
#pragma once
#include <cstddef>
#include <list>
#include <mutex>

#include "serve/conn_stream.h"

namespace chatforge::serve {

struct ConnSlot {
  int fd = -1;
  ConnPhase phase = ConnPhase::kIdle;
  double since = 0;      // monotonic seconds when it entered `phase`
  bool evicted = false;  // shut down by the registry to make room
  std::list<ConnSlot*>::iterator pos;
};

class ConnRegistry {
 public:
  explicit ConnRegistry(size_t cap) : cap_(cap) {}

  // A connection was accepted: true when it may be served (after evicting one if needed).
  bool admit();
  void release();  // an admitted connection's task ended

  void add(ConnSlot* s);     // its thread started serving it
  void remove(ConnSlot* s);  // before its socket is closed
  void set_phase(ConnSlot* s, ConnPhase p);
  bool evicted(const ConnSlot* s);

  // Server stop: shut down every connection that is not busy with a request (they are
  // waiting for bytes), and any added later.
  void close_waiting();
  void reopen();  // a new listen loop starts: connections are served again

  size_t open();
  size_t evictions();
  size_t refusals();

 private:
  std::mutex mu_;
  std::list<ConnSlot*> open_;
  size_t cap_;
  size_t admitted_ = 0, evictions_ = 0, refusals_ = 0;
  bool stopping_ = false;
};

}  // namespace chatforge::serve
