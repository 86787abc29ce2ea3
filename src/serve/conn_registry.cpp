// ConnRegistry: admission with eviction of the stalest unfinished connection.
#include "serve/conn_registry.h"

#include <sys/socket.h>

namespace chatforge::serve {

bool ConnRegistry::admit() {
  std::lock_guard<std::mutex> lk(mu_);
  if (admitted_ < cap_) {
    ++admitted_;
    return true;
  }
  ConnSlot* victim = nullptr;
  for (ConnSlot* s : open_)
    if (s->phase != ConnPhase::kBusy && !s->evicted && (!victim || s->since < victim->since)) victim = s;
  if (!victim) {
    ++refusals_;
    return false;
  }
  // Its thread is blocked in poll() on this socket: shutdown wakes it (recv sees EOF), and
  // it removes the slot under this mutex before closing the fd, so the fd is still ours.
  victim->evicted = true;
  ::shutdown(victim->fd, SHUT_RDWR);
  ++evictions_;
  ++admitted_;  // over the cap until the evicted task ends, a few microseconds
  return true;
}

void ConnRegistry::release() {
  std::lock_guard<std::mutex> lk(mu_);
  if (admitted_ > 0) --admitted_;
}

void ConnRegistry::add(ConnSlot* s) {
  std::lock_guard<std::mutex> lk(mu_);
  s->since = monotonic_seconds();
  s->pos = open_.insert(open_.end(), s);
  if (stopping_) ::shutdown(s->fd, SHUT_RDWR);
}

void ConnRegistry::remove(ConnSlot* s) {
  std::lock_guard<std::mutex> lk(mu_);
  open_.erase(s->pos);
}

void ConnRegistry::set_phase(ConnSlot* s, ConnPhase p) {
  std::lock_guard<std::mutex> lk(mu_);
  s->phase = p;
  s->since = monotonic_seconds();
}

bool ConnRegistry::evicted(const ConnSlot* s) {
  std::lock_guard<std::mutex> lk(mu_);
  return s->evicted;
}

void ConnRegistry::close_waiting() {
  std::lock_guard<std::mutex> lk(mu_);
  stopping_ = true;
  for (ConnSlot* s : open_)
    if (s->phase != ConnPhase::kBusy) ::shutdown(s->fd, SHUT_RDWR);
}

void ConnRegistry::reopen() {
  std::lock_guard<std::mutex> lk(mu_);
  stopping_ = false;
}

size_t ConnRegistry::open() {
  std::lock_guard<std::mutex> lk(mu_);
  return open_.size();
}

size_t ConnRegistry::evictions() {
  std::lock_guard<std::mutex> lk(mu_);
  return evictions_;
}

size_t ConnRegistry::refusals() {
  std::lock_guard<std::mutex> lk(mu_);
  return refusals_;
}

}  // namespace chatforge::serve
