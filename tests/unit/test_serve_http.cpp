// The connection layer of `chatforge serve` without a model: ConnStream's head/body
// bookkeeping and limits on a socketpair (header count, line and head size, head deadline
// against a dribbling writer, body bytes on the wire, write timeout, pipelined bytes kept),
// the body-framing checks made before a body is read, and HttpServer on a loopback port: at the connection cap the stalest unfinished
// connection is evicted for a new one, and when every connection is busy the next gets a
// 503 with Retry-After (delivered, not reset), after which service resumes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "serve/body_framing.h"
#include "serve/conn_stream.h"
#include "serve/http_server.h"

namespace chatforge::serve {
namespace {

struct SocketPair {
  int server = -1, client = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server = fds[0];
    client = fds[1];
  }
  ~SocketPair() {
    ::close(server);
    ::close(client);
  }
  void send(const std::string& s) const { ASSERT_EQ(::send(client, s.data(), s.size(), 0), ssize_t(s.size())); }
};

// Reads the head the way cpp-httplib does (a byte at a time) until the stream leaves kHead.
// Returns false when a read fails (a fault).
bool read_head(ConnStream& s) {
  char c;
  while (s.phase() == ConnPhase::kHead)
    if (s.read(&c, 1) != 1) return false;
  return true;
}

HttpLimits small_limits() {
  HttpLimits l;
  l.max_headers = 3;
  l.max_head_bytes = 256;
  l.max_body_bytes = 1024;
  l.header_timeout_s = 0.3;
  l.body_timeout_s = 0.3;
  l.idle_timeout_s = 0.3;
  l.write_timeout_s = 0.3;
  return l;
}

TEST(ConnStream, FindsTheEndOfTheHeadAndCountsTheBody) {
  SocketPair p;
  p.send("POST /x HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\nBODY");
  ConnStream s(p.server, small_limits());
  ASSERT_TRUE(s.wait_for_request());
  s.begin_request();
  ASSERT_TRUE(read_head(s));
  EXPECT_EQ(s.phase(), ConnPhase::kBody);
  EXPECT_EQ(s.header_lines(), 2u);
  s.expect_body(false, 4);
  EXPECT_EQ(s.phase(), ConnPhase::kBody);  // not all of it read yet
  char buf[16];
  ASSERT_EQ(s.read(buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "BODY");
  EXPECT_EQ(s.body_bytes(), 4u);
  EXPECT_EQ(s.phase(), ConnPhase::kBusy);  // the whole Content-Length arrived
  EXPECT_EQ(s.fault(), ConnFault::kNone);
}

TEST(ConnStream, KeepsAPipelinedRequestBuffered) {
  SocketPair p;
  p.send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");  // one write, two requests
  ConnStream s(p.server, small_limits());
  ASSERT_TRUE(s.wait_for_request());
  s.begin_request();
  ASSERT_TRUE(read_head(s));
  s.expect_body(false, 0);
  EXPECT_EQ(s.phase(), ConnPhase::kBusy);
  // nothing more on the socket, yet the second request is there
  ASSERT_TRUE(s.wait_for_request());
  s.begin_request();
  std::string line;
  char c;
  while (s.read(&c, 1) == 1 && c != '\n') line += c;
  EXPECT_EQ(line, "GET /b HTTP/1.1\r");
}

TEST(ConnStream, HeaderCountLimit) {
  SocketPair p;
  p.send("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");  // exactly max_headers = 3
  ConnStream s(p.server, small_limits());
  s.begin_request();
  EXPECT_TRUE(read_head(s));
  EXPECT_EQ(s.fault(), ConnFault::kNone);

  SocketPair q;
  q.send("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
  ConnStream t(q.server, small_limits());
  t.begin_request();
  EXPECT_FALSE(read_head(t));
  EXPECT_EQ(t.fault(), ConnFault::kTooManyHeaders);
  EXPECT_EQ(fault_answer(t.fault(), small_limits()).status, 431);
}

TEST(ConnStream, HeadSizeLimits) {
  {
    SocketPair p;  // the head limit (256 bytes) reached inside the request line
    p.send("GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n");
    ConnStream s(p.server, small_limits());
    s.begin_request();
    EXPECT_FALSE(read_head(s));
    EXPECT_EQ(s.fault(), ConnFault::kRequestLineTooLong);
    EXPECT_EQ(fault_answer(s.fault(), small_limits()).status, 414);
  }
  {
    SocketPair p;  // ... inside a header
    p.send("GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n");
    ConnStream s(p.server, small_limits());
    s.begin_request();
    EXPECT_FALSE(read_head(s));
    EXPECT_EQ(s.fault(), ConnFault::kHeadTooLarge);
  }
  {
    SocketPair p;  // one header line over 8 KiB, with a large head limit
    HttpLimits l = small_limits();
    l.max_head_bytes = 65536;
    p.send("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n");
    ConnStream s(p.server, l);
    s.begin_request();
    EXPECT_FALSE(read_head(s));
    EXPECT_EQ(s.fault(), ConnFault::kHeadTooLarge);
    EXPECT_EQ(fault_answer(s.fault(), l).status, 431);
  }
}

TEST(ConnStream, HeadDeadlineHoldsAgainstADribblingClient) {
  SocketPair p;
  std::atomic<bool> stop{false};
  // a byte every 20 ms: every single recv succeeds long before any per-read timeout
  std::thread writer([&] {
    const std::string head = "GET / HTTP/1.1\r\n" + std::string(10000, 'x');
    for (size_t i = 0; i < head.size() && !stop; ++i) {
      if (::send(p.client, &head[i], 1, MSG_NOSIGNAL) != 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  HttpLimits l = small_limits();
  l.max_head_bytes = 1 << 20;
  ConnStream s(p.server, l);
  const double t0 = monotonic_seconds();
  s.begin_request();
  EXPECT_FALSE(read_head(s));
  const double took = monotonic_seconds() - t0;
  stop = true;
  writer.join();
  EXPECT_EQ(s.fault(), ConnFault::kHeadTimeout);
  EXPECT_GE(took, 0.28);
  EXPECT_LT(took, 1.0);
  EXPECT_EQ(fault_answer(s.fault(), l).status, 408);
}

TEST(ConnStream, BodyTimeoutAndWireLimit) {
  {
    SocketPair p;
    p.send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{");
    ConnStream s(p.server, small_limits());
    s.begin_request();
    ASSERT_TRUE(read_head(s));
    char buf[100];
    EXPECT_EQ(s.read(buf, sizeof buf), 1);
    EXPECT_EQ(s.read(buf, sizeof buf), -1);  // the rest never comes
    EXPECT_EQ(s.fault(), ConnFault::kBodyTimeout);
  }
  {
    SocketPair p;
    const HttpLimits l = small_limits();  // 1 KiB decoded: 2 * 1024 + 65536 on the wire
    std::thread writer([&] {
      const std::string s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(80000, '0');
      ::send(p.client, s.data(), s.size(), MSG_NOSIGNAL);
    });
    ConnStream s(p.server, l);
    s.begin_request();
    ASSERT_TRUE(read_head(s));
    char buf[4096];
    ssize_t n = 0;
    size_t got = 0;
    while ((n = s.read(buf, sizeof buf)) > 0) got += static_cast<size_t>(n);
    writer.join();
    EXPECT_EQ(s.fault(), ConnFault::kBodyTooLarge);
    EXPECT_LE(got, l.max_wire_body_bytes());
  }
}

TEST(ConnStream, WriteTimeoutWhenTheClientDoesNotRead) {
  SocketPair p;
  ConnStream s(p.server, small_limits());
  const std::string block(1 << 16, 'z');
  const double t0 = monotonic_seconds();
  ssize_t n = 0;
  for (int i = 0; i < 10000 && (n = s.write(block.data(), block.size())) > 0; ++i) {
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(s.fault(), ConnFault::kWriteTimeout);
  EXPECT_LT(monotonic_seconds() - t0, 3.0);
}

// Status of parse_framing for a head with these headers (0: accepted), filling `f`.
int framing_status(std::initializer_list<std::pair<const char*, const char*>> headers, BodyFraming& f) {
  httplib::Request req;
  for (const auto& [k, v] : headers) req.headers.emplace(k, v);
  f = BodyFraming{};
  const auto e = parse_framing(req, f);
  return e ? e->status : 0;
}

TEST(BodyFraming, AcceptsOneFramingAndRefusesWhatWouldBeMisread) {
  BodyFraming f;
  EXPECT_EQ(framing_status({}, f), 0);
  EXPECT_FALSE(f.declared());
  EXPECT_FALSE(f.has_length);
  EXPECT_EQ(framing_status({{"Content-Length", "12"}}, f), 0);
  EXPECT_TRUE(f.has_length && f.declared());
  EXPECT_EQ(f.length, 12u);
  EXPECT_EQ(framing_status({{"Content-Length", "0"}}, f), 0);
  EXPECT_FALSE(f.declared());
  EXPECT_EQ(framing_status({{"transfer-encoding", "Chunked"}}, f), 0);  // names and value any case
  EXPECT_TRUE(f.chunked && f.declared());
  EXPECT_EQ(framing_status({{"Content-Encoding", "identity"}, {"Content-Length", "3"}}, f), 0);

  EXPECT_EQ(framing_status({{"Content-Length", "1e3"}}, f), 400);
  EXPECT_EQ(framing_status({{"Content-Length", "-5"}}, f), 400);
  EXPECT_EQ(framing_status({{"Content-Length", ""}}, f), 400);
  EXPECT_EQ(framing_status({{"Content-Length", "99999999999999999999"}}, f), 400);
  EXPECT_EQ(framing_status({{"Content-Length", "5"}, {"Content-Length", "6"}}, f), 400);
  EXPECT_EQ(framing_status({{"Content-Length", "5"}, {"Content-Length", "5"}}, f), 0);
  EXPECT_EQ(framing_status({{"Transfer-Encoding", "gzip, chunked"}}, f), 400);
  EXPECT_EQ(framing_status({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}, f), 400);
  EXPECT_EQ(framing_status({{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}, f), 400);
  EXPECT_EQ(framing_status({{"Content-Encoding", "gzip"}, {"Content-Length", "5"}}, f), 415);
  EXPECT_EQ(framing_status({{"Content-Encoding", "br"}}, f), 415);
}

// --- HttpServer on a loopback port -------------------------------------------------------

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

void send_all(int fd, const std::string& s) { ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size())); }

// Everything the server sends until it closes or is quiet for `quiet` seconds.
std::string read_answer(int fd, double quiet = 2.0) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(quiet * 1000)) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.find("\r\n\r\n") != std::string::npos && out.find("Content-Length: ") != std::string::npos) {
      const size_t cl = std::stoul(out.substr(out.find("Content-Length: ") + 16));
      if (out.size() >= out.find("\r\n\r\n") + 4 + cl) break;
    }
  }
  return out;
}

bool closed_by_server(int fd, double within) {
  char buf[256];
  const double end = monotonic_seconds() + within;
  while (monotonic_seconds() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
  }
  return false;
}

struct TestServer {
  HttpServer http;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> blocked{0};

  explicit TestServer(const HttpLimits& l) : http(l) {
    http.Get("/fast", [](const httplib::Request&, httplib::Response& res) { res.set_content("fast", "text/plain"); });
    http.Get("/block", [this](const httplib::Request&, httplib::Response& res) {
      ++blocked;
      std::unique_lock<std::mutex> lk(mu);
      cv.wait(lk, [this] { return release; });
      res.set_content("released", "text/plain");
    });
    port = http.bind_to_any_port("127.0.0.1");
    http.widen_backlog();
    thread = std::thread([this] { http.listen_after_bind(); });
  }
  ~TestServer() {
    unblock();
    http.stop();
    thread.join();
  }
  void unblock() {
    std::lock_guard<std::mutex> lk(mu);
    release = true;
    cv.notify_all();
  }
};

TEST(HttpServer, EvictsTheStalestUnfinishedConnectionAtTheCap) {
  HttpLimits l;
  l.max_connections = 2;
  TestServer srv(l);
  ASSERT_GT(srv.port, 0);
  // two slowloris connections fill the cap: half a head each
  const int a = connect_to(srv.port);
  send_all(a, "GET /fast HTTP/1.1\r\nX-1: 1\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int b = connect_to(srv.port);
  send_all(b, "GET /fast HTTP/1.1\r\nX-1: 1\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // a real client still gets its answer; the oldest unfinished connection (a) made room
  const int c = connect_to(srv.port);
  send_all(c, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string answer = read_answer(c);
  EXPECT_EQ(answer.substr(0, 15), "HTTP/1.1 200 OK") << answer;
  EXPECT_NE(answer.find("fast"), std::string::npos);
  EXPECT_TRUE(closed_by_server(a, 1.0));
  EXPECT_FALSE(closed_by_server(b, 0.2));
  EXPECT_EQ(srv.http.evicted_connections(), 1u);
  for (int fd : {a, b, c}) ::close(fd);
}

TEST(HttpServer, Refuses503WhenEveryConnectionIsBusyThenRecovers) {
  HttpLimits l;
  l.max_connections = 2;
  TestServer srv(l);
  const int a = connect_to(srv.port);
  const int b = connect_to(srv.port);
  send_all(a, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n");
  send_all(b, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 200 && srv.blocked < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(srv.blocked, 2);
  // both connections are busy with complete requests: nothing to evict
  const int c = connect_to(srv.port);
  send_all(c, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(100000, 'p'));  // unread input: lingering close
  const std::string refused = read_answer(c);
  EXPECT_EQ(refused.substr(0, 12), "HTTP/1.1 503") << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos);
  EXPECT_NE(refused.find("too_many_connections"), std::string::npos);
  EXPECT_NE(refused.find("Connection: close"), std::string::npos);
  EXPECT_EQ(srv.http.refused_connections(), 1u);
  EXPECT_EQ(srv.http.evicted_connections(), 0u);
  srv.unblock();
  EXPECT_NE(read_answer(a).find("released"), std::string::npos);
  EXPECT_NE(read_answer(b).find("released"), std::string::npos);
  ::close(a);
  ::close(b);
  ::close(c);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int d = connect_to(srv.port);
  send_all(d, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_answer(d).substr(0, 15), "HTTP/1.1 200 OK");
  ::close(d);
}

}  // namespace
}  // namespace chatforge::serve
