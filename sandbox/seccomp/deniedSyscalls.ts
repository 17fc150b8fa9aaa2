// System calls (and argument combinations) that must never get through the filter: each one must
// fail with EPERM. The allowlist decides; this list exists so a test proves it, call by call,
// against both the BPF interpreter and the real kernel. (uprobe/uretprobe are not listed: the
// kernel exempts them from seccomp, and they only work from its own uprobe trampoline.)
import { AT_FDCWD, cloneFlags, fileType, personality, SIGCHLD } from './linuxConstants.ts'
import type { SyscallName } from './syscalls.ts'

export type DeniedSyscall = {
  name: SyscallName
  /** Arguments that make the call dangerous, where the name alone is allowed (all zero otherwise). */
  args?: readonly bigint[]
  why: string
}

export const deniedSyscalls: readonly DeniedSyscall[] = [
  // Other processes' memory.
  { name: 'ptrace', why: 'inspects and controls other processes' },
  { name: 'process_vm_readv', why: "reads another process' memory" },
  { name: 'process_vm_writev', why: "writes another process' memory" },
  { name: 'pidfd_getfd', why: "copies another process' file descriptors (ptrace rules)" },
  { name: 'kcmp', why: 'compares kernel objects of other processes (ptrace rules, address leaks)' },
  { name: 'process_madvise', why: "acts on another process' memory" },
  { name: 'process_mrelease', why: "acts on another process' memory" },

  // Mounts and namespaces.
  { name: 'mount', why: 'changes the filesystem view' },
  { name: 'umount2', why: 'could uncover what bwrap mounted over' },
  { name: 'pivot_root', why: 'changes the root' },
  { name: 'chroot', why: 'changes the root' },
  { name: 'fsopen', why: 'new mount API' },
  { name: 'fsconfig', why: 'new mount API' },
  { name: 'fsmount', why: 'new mount API' },
  { name: 'fspick', why: 'new mount API' },
  { name: 'move_mount', why: 'new mount API' },
  { name: 'open_tree', why: 'new mount API' },
  { name: 'open_tree_attr', why: 'new mount API' },
  { name: 'mount_setattr', why: 'new mount API' },
  { name: 'statmount', why: 'lists host mount details' },
  { name: 'listmount', why: 'lists host mount details' },
  { name: 'listns', why: 'lists namespaces' },
  { name: 'unshare', why: 'new namespaces (a user namespace grants capabilities inside it)' },
  { name: 'setns', why: 'joins other namespaces' },
  { name: 'clone', args: [cloneFlags.CLONE_NEWUSER | SIGCHLD], why: 'a new user namespace' },
  { name: 'clone', args: [cloneFlags.CLONE_NEWNS | SIGCHLD], why: 'a new mount namespace' },
  { name: 'clone', args: [cloneFlags.CLONE_NEWPID | cloneFlags.CLONE_NEWNET | SIGCHLD], why: 'new pid and net namespaces' },

  // Kernel keyrings, BPF, perf, userfaultfd, io_uring: large kernel attack surface.
  { name: 'keyctl', why: 'kernel keyrings are not namespaced' },
  { name: 'add_key', why: 'kernel keyrings are not namespaced' },
  { name: 'request_key', why: 'kernel keyrings are not namespaced' },
  { name: 'bpf', why: 'loads code into the kernel' },
  { name: 'perf_event_open', why: 'kernel/hardware profiling, side channels' },
  { name: 'userfaultfd', why: 'a classic kernel-exploit primitive' },
  { name: 'io_uring_setup', why: 'a long record of kernel CVEs, bypasses seccomp for its ops' },
  { name: 'io_uring_enter', why: 'a long record of kernel CVEs, bypasses seccomp for its ops' },
  { name: 'io_uring_register', why: 'a long record of kernel CVEs, bypasses seccomp for its ops' },
  { name: 'fanotify_init', why: 'filesystem-wide monitoring' },
  { name: 'inotify_init', why: 'watches on the shared /usr and /etc show what other jobs and the host open' },
  { name: 'inotify_init1', why: 'watches on the shared /usr and /etc show what other jobs and the host open' },
  { name: 'inotify_add_watch', why: 'watches on the shared /usr and /etc show what other jobs and the host open' },
  { name: 'landlock_create_ruleset', why: 'not needed; extra kernel surface' },
  { name: 'lsm_set_self_attr', why: 'security-module state' },

  // Kernel modules, kexec, power, swap, accounting, logs.
  { name: 'kexec_load', why: 'replaces the kernel' },
  { name: 'kexec_file_load', why: 'replaces the kernel' },
  { name: 'init_module', why: 'loads code into the kernel' },
  { name: 'finit_module', why: 'loads code into the kernel' },
  { name: 'delete_module', why: 'unloads kernel code' },
  { name: 'create_module', why: 'obsolete module call' },
  { name: 'reboot', why: 'host power state' },
  { name: 'swapon', why: 'host swap' },
  { name: 'swapoff', why: 'host swap' },
  { name: 'acct', why: 'host process accounting' },
  { name: 'quotactl', why: 'host disk quotas' },
  { name: 'quotactl_fd', why: 'host disk quotas' },
  { name: 'syslog', why: 'reads the kernel log (address leaks)' },
  { name: 'lookup_dcookie', why: 'profiling interface, leaks paths' },
  { name: 'uselib', why: 'obsolete loader call' },
  { name: '_sysctl', why: 'obsolete sysctl interface' },
  { name: 'nfsservctl', why: 'obsolete nfsd interface' },
  { name: 'vhangup', why: 'hangs up the terminal' },

  // File handles bypass path permission checks.
  { name: 'open_by_handle_at', why: 'opens files by handle, skipping path checks (the "shocker" escape)' },
  { name: 'name_to_handle_at', why: 'half of the open_by_handle_at escape' },

  // Clocks and host identity.
  { name: 'settimeofday', why: 'host clock' },
  { name: 'clock_settime', why: 'host clock' },
  { name: 'clock_adjtime', why: 'host clock' },
  { name: 'adjtimex', why: 'host clock' },
  { name: 'sethostname', why: 'hostname is fixed for determinism' },
  { name: 'setdomainname', why: 'domain name is fixed for determinism' },

  // Hardware and x86 oddities.
  { name: 'iopl', why: 'raw I/O port access' },
  { name: 'ioperm', why: 'raw I/O port access' },
  { name: 'modify_ldt', why: 'LDT entries have a history of kernel bugs' },
  { name: 'set_thread_area', why: '32-bit TLS via the GDT; x86_64 code uses arch_prctl' },
  { name: 'get_thread_area', why: '32-bit TLS via the GDT; x86_64 code uses arch_prctl' },

  // NUMA policy, only useful to move memory between nodes of the host.
  { name: 'mbind', why: 'host NUMA placement' },
  { name: 'set_mempolicy', why: 'host NUMA placement' },
  { name: 'migrate_pages', why: "moves other processes' pages" },
  { name: 'move_pages', why: "moves other processes' pages" },

  // Allowed names with dangerous arguments.
  { name: 'mknod', args: [0n, fileType.S_IFCHR | 0o600n, 0x0103n], why: 'device nodes (FIFOs are allowed)' },
  { name: 'mknodat', args: [AT_FDCWD, 0n, fileType.S_IFBLK | 0o600n, 0x0800n], why: 'device nodes (FIFOs are allowed)' },
  { name: 'personality', args: [personality.ADDR_NO_RANDOMIZE], why: 'turns off ASLR' },
  { name: 'personality', args: [personality.READ_IMPLIES_EXEC], why: 'makes all readable memory executable' },
]
