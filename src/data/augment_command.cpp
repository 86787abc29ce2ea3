// run_text_command of augment.h: fork + exec /bin/sh -c, stdin and stdout through pipes
// driven by poll() (so a command that writes before it has read everything cannot
// deadlock us), with a wall-clock timeout after which the command's process group is killed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/error.h"
#include "data/augment.h"

namespace chatforge::data {

std::string run_text_command(const std::string& command, const std::string& input, double timeout_s) {
  int in_pipe[2], out_pipe[2];
  CF_CHECK(pipe(in_pipe) == 0 && pipe(out_pipe) == 0, "augment command: pipe failed: {}", std::strerror(errno));
  const pid_t pid = fork();
  CF_CHECK(pid >= 0, "augment command: fork failed: {}", std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    close(in_pipe[0]);
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(out_pipe[1]);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  close(in_pipe[0]);
  close(out_pipe[1]);
  int wfd = in_pipe[1], rfd = out_pipe[0];
  fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
  // A command that exits without reading its input must not kill us with SIGPIPE.
  struct sigaction ignore {}, old {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  std::string out;
  size_t written = 0;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  if (input.empty()) {
    close(wfd);
    wfd = -1;
  }
  while (rfd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    int n = 0;
    fds[n++] = {rfd, POLLIN, 0};
    if (wfd >= 0) fds[n++] = {wfd, POLLOUT, 0};
    const int r = poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<long>(left.count(), 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (n == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t w = write(wfd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // reader went away
      if (written == input.size()) {
        close(wfd);
        wfd = -1;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      const ssize_t got = read(rfd, buf, sizeof buf);
      if (got > 0) {
        out.append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(rfd);
        rfd = -1;
      }
    }
  }
  if (wfd >= 0) close(wfd);
  if (rfd >= 0) close(rfd);
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  sigaction(SIGPIPE, &old, nullptr);
  CF_CHECK(!timed_out, "augment command '{}' ran longer than {}s and was killed", command, timeout_s);
  CF_CHECK(!WIFSIGNALED(status), "augment command '{}' was killed by signal {}", command, WTERMSIG(status));
  CF_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "augment command '{}' failed with exit status {}", command,
           WEXITSTATUS(status));
  if (!out.empty() && out.back() == '\n') out.pop_back();
  if (!out.empty() && out.back() == '\r') out.pop_back();
  CF_CHECK(!out.empty(), "augment command '{}' printed nothing for a {}-byte input", command, input.size());
  return out;
}

}  // namespace chatforge::data
