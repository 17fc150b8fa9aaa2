// sandrun-spawn: the native process launcher of the Sandrun sandbox (see createNativeSpawner.ts).
//
// Starting a job process from Node costs a fork of a Node process (page tables of tens of MB
// copied, then torn down by the child's exec): ~2.5 ms of CPU per job, a fifth of all the work a
// trivial job needs. This small program forks in ~0.1 ms. It only starts processes, relays their
// output and reports their exit; everything else stays in TypeScript.
//
// Protocol: frames on stdin (requests) and stdout (events), little-endian:
//   u32 length of the rest | u8 type | u32 id | payload
// Requests:
//   SPAWN (1): u32 uid | u32 gid (0xffffffff: unchanged) | u16 argc | u16 envc | u16 joinc | u16 fdc
//              | file\0 | argv[argc]\0 | env[envc] ("K=V")\0 | join[joinc] pairs: job tasks\0 home tasks\0
//              | cgroup\0 (v2: directory the process is born in, through clone3; empty: none)
//              | fds[fdc]: u8 kind (0 file: path\0, 1 data: u32 n | n bytes, 2 deferred: a pipe filled
//              later by WRITE); the i-th becomes fd 3+i.
//   KILL (2):  (no payload) SIGKILL to the process.
//   WRITE (3): bytes for the process's deferred pipe, which is then closed.
// Events:
//   READY (1) id 0 | SPAWNED (2) u32 pid | STDOUT (3) / STDERR (4) bytes | EXIT (5) i32 code | i32 signal
//   (code -1 when signalled) | ERROR (6) message. After SPAWNED a process ends with EXIT or ERROR,
//   sent once its output pipes are drained.
// cgroup v1 join: the (single) thread writes "0" to each job `tasks` file, forks, and writes "0" to
// its home `tasks` files: the child is born in the job cgroup and no other task is migrated, which
// skips the kernel's global threadgroup lock and its RCU grace period (~10 ms).
// cgroup v2: clone3 with CLONE_INTO_CGROUP creates the child in the job cgroup directly (Linux
// 5.7+); nothing is migrated at all, and the launcher itself never enters a job cgroup.
// End of stdin: every child is killed and the program exits.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/fsuid.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

enum { REQ_SPAWN = 1, REQ_KILL = 2, REQ_WRITE = 3 };
enum { EV_READY = 1, EV_SPAWNED = 2, EV_STDOUT = 3, EV_STDERR = 4, EV_EXIT = 5, EV_ERROR = 6 };
enum { W_STDOUT = 0, W_STDERR = 1, W_EXEC = 2, W_REQUESTS = 3, W_SIGNALS = 4 };
#define MAX_FDS 16
#define HIGH_FD 100
#define NO_ID 0xffffffffu

struct child;
struct watch {
  struct child *child;
  int kind;
  int fd;
};
struct child {
  uint32_t id;
  pid_t pid;
  int reaped;
  int status;
  int exec_errno;
  int deferred_fd; // write end of the deferred pipe, -1 when none or written
  struct watch watches[3]; // stdout, stderr, exec-error pipe; fd -1 once closed
  struct child *next;
};

static struct child *children;
static int epoll_fd;
static unsigned char io_buffer[65536];

static void die(const char *message) {
  (void)!write(2, message, strlen(message));
  _exit(70);
}

static void send_event(int type, uint32_t id, const void *payload, uint32_t length) {
  unsigned char header[9];
  uint32_t total = 5 + length;
  memcpy(header, &total, 4);
  header[4] = (unsigned char)type;
  memcpy(header + 5, &id, 4);
  struct iovec parts[2] = { { header, 9 }, { (void *)payload, length } };
  size_t remaining = 9 + length;
  int index = 0;
  while (remaining > 0) {
    ssize_t n = writev(1, parts + index, 2 - index);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0);
    remaining -= (size_t)n;
    while (index < 2 && (size_t)n >= parts[index].iov_len) {
      n -= (ssize_t)parts[index].iov_len;
      index++;
    }
    if (index < 2) {
      parts[index].iov_base = (unsigned char *)parts[index].iov_base + n;
      parts[index].iov_len -= (size_t)n;
    }
  }
}

static void send_error(uint32_t id, const char *what, int error) {
  char message[512];
  size_t length = strlen(what);
  if (length > 300) length = 300;
  memcpy(message, what, length);
  const char *reason = error ? strerror(error) : "";
  size_t reason_length = strlen(reason);
  if (error && reason_length < sizeof message - length - 2) {
    memcpy(message + length, ": ", 2);
    memcpy(message + length + 2, reason, reason_length);
    length += 2 + reason_length;
  }
  send_event(EV_ERROR, id, message, (uint32_t)length);
}

static void watch_fd(struct watch *watch) {
  struct epoll_event event = { .events = EPOLLIN, .data.ptr = watch };
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, watch->fd, &event) != 0) die("sandrun-spawn: epoll_ctl failed\n");
}

static void close_watch(struct watch *watch) {
  if (watch->fd < 0) return;
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL);
  close(watch->fd);
  watch->fd = -1;
}

static struct child *find_child(uint32_t id) {
  for (struct child *c = children; c; c = c->next)
    if (c->id == id) return c;
  return NULL;
}

/** Sends the final event once the process is reaped and its pipes are drained, then forgets it. */
static void maybe_finish(struct child *child) {
  if (!child->reaped) return;
  for (int i = 0; i < 3; i++)
    if (child->watches[i].fd >= 0) return;
  if (child->exec_errno) {
    send_error(child->id, "cannot start the process", child->exec_errno);
  } else {
    int32_t result[2] = { -1, 0 };
    if (WIFEXITED(child->status)) result[0] = WEXITSTATUS(child->status);
    else if (WIFSIGNALED(child->status)) result[1] = WTERMSIG(child->status);
    send_event(EV_EXIT, child->id, result, sizeof result);
  }
  if (child->deferred_fd >= 0) close(child->deferred_fd);
  for (struct child **link = &children; *link; link = &(*link)->next) {
    if (*link == child) {
      *link = child->next;
      break;
    }
  }
  free(child);
}

static int write_zero(const char *file) {
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, "0", 1);
  int saved = errno;
  close(fd);
  errno = saved;
  return n == 1 ? 0 : -1;
}

/** A cursor over a request payload; any overrun marks it bad. */
struct reader {
  const unsigned char *p;
  const unsigned char *end;
  int bad;
};

static const unsigned char *take(struct reader *r, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return NULL;
  }
  const unsigned char *start = r->p;
  r->p += n;
  return start;
}

static uint32_t take_u32(struct reader *r) {
  const unsigned char *p = take(r, 4);
  uint32_t value = 0;
  if (p) memcpy(&value, p, 4);
  return value;
}

static uint16_t take_u16(struct reader *r) {
  const unsigned char *p = take(r, 2);
  uint16_t value = 0;
  if (p) memcpy(&value, p, 2);
  return value;
}

static char *take_string(struct reader *r) {
  if (r->bad) return NULL;
  const unsigned char *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
  if (!nul) {
    r->bad = 1;
    return NULL;
  }
  char *s = (char *)r->p;
  r->p = nul + 1;
  return s;
}

/** Child side between fork and exec: only async-signal-safe calls. */
static void start_child(int exec_error_fd, int *sources, int source_count, uint32_t uid, uint32_t gid, const char *file,
                        char **argv, char **envp) {
  sigset_t none;
  sigemptyset(&none);
  signal(SIGPIPE, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int error = 0;
  // Move every source (and the error pipe) out of the way first, then into place: any of them may
  // sit on a target number.
  int error_fd = fcntl(exec_error_fd, F_DUPFD_CLOEXEC, HIGH_FD);
  if (error_fd < 0) {
    error = errno;
    (void)!write(exec_error_fd, &error, sizeof error);
    _exit(127);
  }
  // The launcher is shielded from the OOM killer (it passes through job cgroups); jobs are not.
  int oom_fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (oom_fd >= 0) {
    (void)!write(oom_fd, "0", 1);
    close(oom_fd);
  }
  int high[MAX_FDS + 3];
  for (int i = 0; i < source_count && !error; i++) {
    high[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, HIGH_FD);
    if (high[i] < 0) error = errno;
  }
  for (int i = 0; i < source_count && !error; i++)
    if (dup2(high[i], i) < 0) error = errno;
  // Nothing else reaches the process: not even an fd this launcher inherited without close-on-exec.
  if (!error && (syscall(SYS_close_range, source_count, error_fd - 1, 0) != 0 || syscall(SYS_close_range, error_fd + 1, ~0U, 0) != 0)) error = errno;
  if (!error && gid != NO_ID && (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0)) error = errno;
  if (!error && uid != NO_ID && setresuid(uid, uid, uid) != 0) error = errno;
  if (!error) {
    execve(file, argv, envp);
    error = errno;
  }
  (void)!write(error_fd, &error, sizeof error);
  _exit(127);
}

static void spawn_request(uint32_t id, struct reader *r) {
  uint32_t uid = take_u32(r), gid = take_u32(r);
  uint16_t argc = take_u16(r), envc = take_u16(r), joinc = take_u16(r), fdc = take_u16(r);
  if (r->bad || fdc > MAX_FDS || argc == 0) {
    send_error(id, "malformed spawn request", 0);
    return;
  }
  char *file = take_string(r);
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  char **envp = calloc((size_t)envc + 1, sizeof *envp);
  char **joins = calloc((size_t)joinc * 2 + 1, sizeof *joins);
  if (!argv || !envp || !joins) die("sandrun-spawn: out of memory\n");
  for (int i = 0; i < argc; i++) argv[i] = take_string(r);
  for (int i = 0; i < envc; i++) envp[i] = take_string(r);
  for (int i = 0; i < joinc * 2; i++) joins[i] = take_string(r);
  const char *cgroup = take_string(r);

  // fds in the child: 0 /dev/null, 1 stdout pipe, 2 stderr pipe, 3.. the extra fds.
  int sources[MAX_FDS + 3];
  int source_count = 0;
  int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, exec_pipe[2] = { -1, -1 };
  int deferred_fd = -1;
  const char *failure = NULL;
  int failure_errno = 0;
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  // The output pipes belong to the job's user, so it can reopen them (/dev/stdout, /proc/self/fd/1).
  if (uid != NO_ID) {
    setfsgid(gid);
    setfsuid(uid);
  }
  int pipes_ok = pipe2(out_pipe, O_CLOEXEC) == 0 && pipe2(err_pipe, O_CLOEXEC) == 0;
  int pipes_errno = errno;
  if (uid != NO_ID) {
    setfsuid(geteuid());
    setfsgid(getegid());
  }
  if (null_fd < 0 || !pipes_ok || pipe2(exec_pipe, O_CLOEXEC) != 0) {
    failure = "cannot create pipes";
    failure_errno = pipes_ok ? errno : pipes_errno;
  }
  sources[source_count++] = null_fd;
  sources[source_count++] = out_pipe[1];
  sources[source_count++] = err_pipe[1];
  for (int i = 0; i < fdc && !failure; i++) {
    const unsigned char *kind = take(r, 1);
    if (!kind) {
      failure = "malformed spawn request";
      break;
    }
    if (*kind == 2) {
      int late_pipe[2];
      if (deferred_fd >= 0 || pipe2(late_pipe, O_CLOEXEC) != 0) {
        failure = deferred_fd >= 0 ? "more than one deferred pipe" : "cannot create pipes";
        failure_errno = deferred_fd >= 0 ? 0 : errno;
        break;
      }
      sources[source_count++] = late_pipe[0];
      deferred_fd = late_pipe[1];
    } else if (*kind == 0) {
      const char *path = take_string(r);
      int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
      if (fd < 0) {
        failure = "cannot open an input file";
        failure_errno = path ? errno : 0;
        break;
      }
      sources[source_count++] = fd;
    } else {
      uint32_t length = take_u32(r);
      const unsigned char *data = take(r, length);
      int data_pipe[2];
      if (!data || pipe2(data_pipe, O_CLOEXEC) != 0) {
        failure = data ? "cannot create pipes" : "malformed spawn request";
        failure_errno = data ? errno : 0;
        break;
      }
      sources[source_count++] = data_pipe[0];
      // The data is written whole before the start, so it must fit the pipe.
      if (length > 65536 && fcntl(data_pipe[1], F_SETPIPE_SZ, (int)length) < 0) {
        failure = "input data too large";
        failure_errno = errno;
      }
      size_t done = 0;
      while (!failure && done < length) {
        ssize_t n = write(data_pipe[1], data + done, length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          failure = "cannot write input data";
          failure_errno = errno;
          break;
        }
        done += (size_t)n;
      }
      close(data_pipe[1]);
    }
  }
  if (!failure && (r->bad || !file)) failure = "malformed spawn request";
  for (int i = 0; i < argc && !failure; i++)
    if (!argv[i]) failure = "malformed spawn request";

  int joined = 0;
  while (!failure && joined < joinc) {
    if (write_zero(joins[joined * 2]) != 0) {
      failure = "cannot join the job cgroup";
      failure_errno = errno;
      break;
    }
    joined++;
  }
  pid_t pid = -1;
  int cgroup_fd = -1;
  if (!failure && cgroup && *cgroup) {
    cgroup_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd < 0) {
      failure = "cannot open the job cgroup";
      failure_errno = errno;
    }
  }
  if (!failure && cgroup_fd >= 0) {
    // Like fork (no CLONE_VM, no new stack), but the child starts in the job cgroup.
    struct clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd };
    pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) start_child(exec_pipe[1], sources, source_count, uid, gid, file, argv, envp);
    if (pid < 0) {
      failure = "cannot start the process in its cgroup";
      failure_errno = errno;
    }
  } else if (!failure) {
    pid = fork();
    if (pid == 0) start_child(exec_pipe[1], sources, source_count, uid, gid, file, argv, envp);
    if (pid < 0) {
      failure = "cannot fork";
      failure_errno = errno;
    }
  }
  for (int i = 0; i < joined; i++)
    if (write_zero(joins[i * 2 + 1]) != 0) die("sandrun-spawn: cannot return to its own cgroup\n");

  if (cgroup_fd >= 0) close(cgroup_fd);
  for (int i = 0; i < source_count; i++)
    if (sources[i] >= 0) close(sources[i]);
  close(exec_pipe[1]);
  free(argv);
  free(envp);
  free(joins);
  if (failure) {
    if (deferred_fd >= 0) close(deferred_fd);
    if (out_pipe[0] >= 0) close(out_pipe[0]);
    if (err_pipe[0] >= 0) close(err_pipe[0]);
    if (exec_pipe[0] >= 0) close(exec_pipe[0]);
    send_error(id, failure, failure_errno);
    return;
  }

  struct child *child = calloc(1, sizeof *child);
  if (!child) die("sandrun-spawn: out of memory\n");
  child->id = id;
  child->pid = pid;
  child->deferred_fd = deferred_fd;
  int fds[3] = { out_pipe[0], err_pipe[0], exec_pipe[0] };
  for (int i = 0; i < 3; i++) {
    child->watches[i] = (struct watch){ child, i, fds[i] };
    fcntl(fds[i], F_SETFL, O_NONBLOCK);
    watch_fd(&child->watches[i]);
  }
  child->next = children;
  children = child;
  uint32_t pid32 = (uint32_t)pid;
  send_event(EV_SPAWNED, id, &pid32, 4);
}

static void on_child_readable(struct watch *watch) {
  struct child *child = watch->child;
  if (watch->kind == W_EXEC) {
    int error = 0;
    ssize_t n = read(watch->fd, &error, sizeof error);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n == (ssize_t)sizeof error) child->exec_errno = error ? error : EIO;
    close_watch(watch);
  } else {
    ssize_t n = read(watch->fd, io_buffer, sizeof io_buffer);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n > 0) {
      send_event(watch->kind == W_STDOUT ? EV_STDOUT : EV_STDERR, child->id, io_buffer, (uint32_t)n);
      return;
    }
    close_watch(watch);
  }
  maybe_finish(child);
}

static void reap(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (struct child *c = children; c; c = c->next) {
      if (c->pid == pid) {
        c->reaped = 1;
        c->status = status;
        maybe_finish(c);
        break;
      }
    }
  }
}

/** Fills the deferred pipe (made big enough first) and closes it: its reader sees the end. */
static void write_deferred(uint32_t id, const unsigned char *data, size_t length) {
  struct child *child = find_child(id);
  if (!child || child->deferred_fd < 0) return;
  int fd = child->deferred_fd;
  child->deferred_fd = -1;
  if (length > 65536) fcntl(fd, F_SETPIPE_SZ, (int)length);
  // Non-blocking: a reader that is gone (or a pipe still too small) must not stall the launcher.
  fcntl(fd, F_SETFL, O_NONBLOCK);
  size_t done = 0;
  while (done < length) {
    ssize_t n = write(fd, data + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += (size_t)n;
  }
  close(fd);
}

static unsigned char *requests;
static size_t requests_length, requests_capacity;

/** Reads what is available on stdin and handles every complete frame. Returns 0 at end of input. */
static int read_requests(void) {
  if (requests_capacity - requests_length < 65536) {
    requests_capacity = requests_capacity * 2 + 65536;
    requests = realloc(requests, requests_capacity);
    if (!requests) die("sandrun-spawn: out of memory\n");
  }
  ssize_t n = read(0, requests + requests_length, requests_capacity - requests_length);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
  if (n <= 0) return 0;
  requests_length += (size_t)n;
  size_t offset = 0;
  while (requests_length - offset >= 4) {
    uint32_t length;
    memcpy(&length, requests + offset, 4);
    if (length < 5 || length > (64u << 20)) die("sandrun-spawn: malformed request frame\n");
    if (requests_length - offset - 4 < length) break;
    const unsigned char *frame = requests + offset + 4;
    uint32_t id;
    memcpy(&id, frame + 1, 4);
    struct reader r = { frame + 5, frame + length, 0 };
    if (frame[0] == REQ_SPAWN) {
      spawn_request(id, &r);
    } else if (frame[0] == REQ_WRITE) {
      write_deferred(id, frame + 5, length - 5);
    } else if (frame[0] == REQ_KILL) {
      struct child *child = find_child(id);
      if (child && !child->reaped) kill(child->pid, SIGKILL);
    }
    offset += 4 + length;
  }
  memmove(requests, requests + offset, requests_length - offset);
  requests_length -= offset;
  return 1;
}

int main(void) {
  // Only stdin, stdout and stderr are ours; anything else inherited is closed.
  syscall(SYS_close_range, 3, ~0U, 0);
  // bwrap's outer process exits as soon as its sandbox's command has, before the sandbox's pid 1
  // is reaped: orphans come here rather than to the host's init (which may reap late, and until
  // then they hold their job cgroup's pids charges). reap() collects them with the rest.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // While it forks it sits in a job's memory cgroup for a moment: an OOM kill there must not pick
  // it (every job would go with it). Children set their own score back to 0.
  int oom_fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (oom_fd >= 0) {
    (void)!write(oom_fd, "-1000", 5);
    close(oom_fd);
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int signal_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (signal_fd < 0 || epoll_fd < 0) die("sandrun-spawn: cannot set up signalfd/epoll\n");
  // Keep stdin/stdout off fds 0/1 in children: they are close-on-exec here and replaced there.
  fcntl(0, F_SETFD, FD_CLOEXEC);
  fcntl(1, F_SETFD, FD_CLOEXEC);
  struct watch request_watch = { NULL, W_REQUESTS, 0 }, signal_watch = { NULL, W_SIGNALS, signal_fd };
  watch_fd(&request_watch);
  watch_fd(&signal_watch);
  send_event(EV_READY, 0, NULL, 0);

  struct epoll_event events[64];
  for (;;) {
    int count = epoll_wait(epoll_fd, events, 64, -1);
    if (count < 0) {
      if (errno == EINTR) continue;
      die("sandrun-spawn: epoll_wait failed\n");
    }
    for (int i = 0; i < count; i++) {
      struct watch *watch = events[i].data.ptr;
      if (watch->kind == W_REQUESTS) {
        if (!read_requests()) {
          for (struct child *c = children; c; c = c->next)
            if (!c->reaped) kill(c->pid, SIGKILL);
          _exit(0);
        }
      } else if (watch->kind == W_SIGNALS) {
        struct signalfd_siginfo info;
        while (read(signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
        }
        reap();
      } else {
        on_child_readable(watch);
      }
    }
  }
}
