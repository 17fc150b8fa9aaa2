// Linux UAPI values the allowlist and its tests reason about (linux/sched.h, linux/personality.h,
// sys/stat.h, asm-generic/ioctls.h, linux/socket.h), as bigints for 64-bit argument rules.

export const cloneFlags = {
  CLONE_NEWTIME: 0x80n,
  CLONE_NEWNS: 0x20000n,
  CLONE_NEWCGROUP: 0x02000000n,
  CLONE_NEWUTS: 0x04000000n,
  CLONE_NEWIPC: 0x08000000n,
  CLONE_NEWUSER: 0x10000000n,
  CLONE_NEWPID: 0x20000000n,
  CLONE_NEWNET: 0x40000000n,
} as const

/** Every flag that makes clone create a namespace. */
export const cloneNamespaceFlags = Object.values(cloneFlags).reduce((all, flag) => all | flag, 0n)

export const SIGCHLD = 17n

export const addressFamily = { AF_UNIX: 1n, AF_INET: 2n, AF_INET6: 10n, AF_NETLINK: 16n, AF_PACKET: 17n, AF_VSOCK: 40n } as const

export const fileType = { S_IFMT: 0o170000n, S_IFIFO: 0o010000n, S_IFCHR: 0o020000n, S_IFBLK: 0o060000n, S_IFSOCK: 0o140000n } as const

export const personality = {
  PER_LINUX: 0n,
  PER_LINUX32: 0x0008n,
  ADDR_NO_RANDOMIZE: 0x0040000n,
  READ_IMPLIES_EXEC: 0x0400000n,
  /** Not a persona: asks for the current one without changing it. */
  QUERY: 0xffffffffn,
} as const

export const ioctlRequest = { TCGETS: 0x5401n, TIOCSTI: 0x5412n, FIONREAD: 0x541bn, TIOCLINUX: 0x541cn } as const

/** AT_FDCWD (-100) as the 32-bit register value the kernel reads for an int. */
export const AT_FDCWD = 0xffffff9cn
