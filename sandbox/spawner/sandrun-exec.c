// sandrun-exec: the first program of a pre-started sandbox (see warmPool.ts). bwrap runs it as the
// sandbox's command once the namespaces, mounts and seccomp filter are in place; it waits on a pipe
// for the job's command line and environment, closes every fd above 2, and execs the job.
//
//   sandrun-exec <fd>     payload on <fd>, NUL-separated: argc, argv[0..argc), then env entries.
//
// Built with -nostdlib -static: no C library start-up on every job (~0.3 ms less than glibc's).
// x86_64 only, like the seccomp filter. Exits 125 with a `sandrun-exec: ` message on stderr when
// the payload is malformed or the command cannot be executed.

#define SYS_read 0
#define SYS_write 1
#define SYS_execve 59
#define SYS_exit 60
#define SYS_close_range 436

#define MAX_PAYLOAD (1 << 20)
#define MAX_STRINGS 32768

static char payload[MAX_PAYLOAD + 1];
static char *command[MAX_STRINGS + 1];
static char *environment[MAX_STRINGS + 1];

static long syscall3(long number, long a, long b, long c) {
  long result;
  __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return result;
}

static unsigned long length_of(const char *s) {
  unsigned long n = 0;
  while (s[n]) n++;
  return n;
}

static void fail(const char *what, const char *detail) {
  syscall3(SYS_write, 2, (long)"sandrun-exec: ", 14);
  syscall3(SYS_write, 2, (long)what, (long)length_of(what));
  if (detail) {
    syscall3(SYS_write, 2, (long)" ", 1);
    syscall3(SYS_write, 2, (long)detail, (long)length_of(detail));
  }
  syscall3(SYS_write, 2, (long)"\n", 1);
  syscall3(SYS_exit, 125, 0, 0);
  for (;;) {
  }
}

__attribute__((used)) static void start(long *stack) {
  long argc = stack[0];
  char **argv = (char **)(stack + 1);
  if (argc < 2) fail("usage: sandrun-exec <fd>", 0);
  long fd = 0;
  for (const char *p = argv[1]; *p; p++) {
    if (*p < '0' || *p > '9') fail("bad fd", 0);
    fd = fd * 10 + (*p - '0');
  }

  long size = 0;
  for (;;) {
    if (size == MAX_PAYLOAD) fail("command line too long", 0);
    long n = syscall3(SYS_read, fd, (long)(payload + size), MAX_PAYLOAD - size);
    if (n == -4) continue; // EINTR
    if (n < 0) fail("cannot read the command", 0);
    if (n == 0) break;
    size += n;
  }
  // Discarded before use: the pipe was closed without a command.
  if (size == 0) syscall3(SYS_exit, 0, 0, 0);
  payload[size] = 0;

  long command_count = -1, args = 0, envs = 0;
  for (long i = 0; i < size; i += (long)length_of(payload + i) + 1) {
    char *text = payload + i;
    if (command_count < 0) {
      command_count = 0;
      for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') fail("malformed command", 0);
        command_count = command_count * 10 + (*p - '0');
        if (command_count > MAX_STRINGS) fail("too many arguments", 0);
      }
    } else if (args < command_count) {
      command[args++] = text;
    } else {
      if (envs == MAX_STRINGS) fail("too many environment variables", 0);
      environment[envs++] = text;
    }
  }
  if (command_count < 1 || args != command_count) fail("malformed command", 0);
  command[args] = 0;
  environment[envs] = 0;

  syscall3(SYS_close_range, 3, ~0U, 0);
  long error = syscall3(SYS_execve, (long)command[0], (long)command, (long)environment);
  fail(error == -2 ? "no such program:" : error == -13 ? "permission denied:" : error == -8 ? "not an executable:" : "cannot run:", command[0]);
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call start\n"
        "  hlt\n");
