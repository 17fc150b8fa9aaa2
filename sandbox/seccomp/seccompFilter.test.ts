import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  auditArchX86_64,
  decodeBpfProgram,
  deniedSyscalls,
  evaluateSeccompFilter,
  seccompAllowlist,
  seccompFilter,
  seccompProgram,
  writeSeccompFilter,
  x32SyscallBit,
  x86_64Syscalls,
} from './index.ts'
import { addressFamily, AT_FDCWD, cloneFlags, fileType, ioctlRequest, personality } from './linuxConstants.ts'

const allow = { type: 'allow' }
const eperm = { type: 'errno', errno: 1 }
const enosys = { type: 'errno', errno: 38 }
const eafnosupport = { type: 'errno', errno: 97 }

describe('architecture and ABI checks', () => {
  it.each([
    ['i386', 0x40000003],
    ['aarch64', 0xc00000b7],
    ['an unknown architecture', 0],
  ])('kills a process calling from %s, even for an allowed call', (_name, arch) => {
    expect(evaluateSeccompFilter({ syscall: 'read', arch })).toEqual({ type: 'killProcess' })
  })

  it.each([
    ['read', x32SyscallBit | x86_64Syscalls.read],
    ['rt_sigaction (x32 table entry 512)', x32SyscallBit | 512],
    ['the highest x32 number', 0x7fffffff],
    ['-1 as a register value', 0xffffffff],
  ])('refuses the x32 number for %s with ENOSYS', (_name, nr) => {
    expect(evaluateSeccompFilter({ syscall: nr })).toEqual(enosys)
  })

  it.each([
    ['a number past the table', 471],
    ['a gap in the table', 400],
    ['the last x86_64 number below the x32 bit', x32SyscallBit - 1],
  ])('answers EPERM for %s', (_name, nr) => {
    expect(evaluateSeccompFilter({ syscall: nr })).toEqual(eperm)
  })
})

describe('denied system calls', () => {
  it.each(deniedSyscalls.map((denied) => [denied.name, denied.args?.map(String).join(', ') ?? '', denied] as const))(
    '%s(%s) fails with EPERM',
    (_name, _args, denied) => {
      expect(evaluateSeccompFilter({ syscall: denied.name, args: denied.args ?? [] })).toEqual(eperm)
    },
  )
})

describe('unconditionally allowed system calls', () => {
  const plain = seccompAllowlist.filter((rule) => typeof rule === 'string')

  it.each(plain)('%s is allowed with any arguments', (name) => {
    expect(evaluateSeccompFilter({ syscall: name })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: name, args: [-1n, -1n, -1n, -1n, -1n, -1n] })).toEqual(allow)
  })
})

describe('argument rules', () => {
  const { AF_UNIX, ...otherFamilies } = addressFamily
  it.each(Object.entries(otherFamilies))('socket(%s) fails with EAFNOSUPPORT, and so does socketpair', (_name, family) => {
    expect(evaluateSeccompFilter({ syscall: 'socket', args: [family, 1, 0] })).toEqual(eafnosupport)
    expect(evaluateSeccompFilter({ syscall: 'socketpair', args: [family, 1, 0, 0] })).toEqual(eafnosupport)
  })

  it('allows AF_UNIX sockets and socket pairs', () => {
    expect(evaluateSeccompFilter({ syscall: 'socket', args: [AF_UNIX, 0x80001, 0] })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'socketpair', args: [AF_UNIX, 1, 0, 0x1000] })).toEqual(allow)
  })

  it('judges the socket family by the low 32 bits, as the kernel reads an int', () => {
    expect(evaluateSeccompFilter({ syscall: 'socket', args: [0xdeadbeef_00000001n] })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'socket', args: [0x00000001_00000002n] })).toEqual(eafnosupport)
  })

  it.each([
    ['fork (glibc)', 0x01200011],
    ['pthread_create', 0x003d0f00],
    ['posix_spawn (CLONE_VM | CLONE_VFORK)', 0x00004111],
  ])('allows clone for %s', (_name, flags) => {
    expect(evaluateSeccompFilter({ syscall: 'clone', args: [flags] })).toEqual(allow)
  })

  it.each(Object.entries(cloneFlags))('refuses clone with %s, even among ordinary flags', (_name, flag) => {
    expect(evaluateSeccompFilter({ syscall: 'clone', args: [flag] })).toEqual(eperm)
    expect(evaluateSeccompFilter({ syscall: 'clone', args: [0x01200011n | flag] })).toEqual(eperm)
  })

  it('makes clone3 fail with ENOSYS so glibc falls back to clone', () => {
    expect(evaluateSeccompFilter({ syscall: 'clone3' })).toEqual(enosys)
  })

  it('refuses the terminal-injection ioctls and allows ordinary ones', () => {
    expect(evaluateSeccompFilter({ syscall: 'ioctl', args: [0, ioctlRequest.TIOCSTI] })).toEqual(eperm)
    expect(evaluateSeccompFilter({ syscall: 'ioctl', args: [0, 0xffffffff_00000000n | ioctlRequest.TIOCSTI] })).toEqual(eperm)
    expect(evaluateSeccompFilter({ syscall: 'ioctl', args: [0, ioctlRequest.TIOCLINUX] })).toEqual(eperm)
    expect(evaluateSeccompFilter({ syscall: 'ioctl', args: [0, ioctlRequest.TCGETS] })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'ioctl', args: [3, ioctlRequest.FIONREAD] })).toEqual(allow)
  })

  it('allows only the default persona and the query in personality', () => {
    expect(evaluateSeccompFilter({ syscall: 'personality', args: [personality.PER_LINUX] })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'personality', args: [personality.QUERY] })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'personality', args: [personality.PER_LINUX32] })).toEqual(eperm)
  })

  it('allows mknod for FIFOs only', () => {
    expect(evaluateSeccompFilter({ syscall: 'mknod', args: [0, fileType.S_IFIFO | 0o644n, 0] })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'mknodat', args: [AT_FDCWD, 0, fileType.S_IFIFO | 0o600n, 0] })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'mknodat', args: [AT_FDCWD, 0, fileType.S_IFCHR | 0o600n, 0x103] })).toEqual(eperm)
    expect(evaluateSeccompFilter({ syscall: 'mknodat', args: [AT_FDCWD, 0, fileType.S_IFSOCK | 0o600n, 0] })).toEqual(eperm)
  })
})

describe('the compiled program', () => {
  it('starts with the architecture check, as bwrap expects a raw sock_filter array', () => {
    const bytes = seccompFilter()
    expect(bytes.length).toBe(seccompProgram().length * 8)
    // ld [4] (seccomp_data.arch), then jeq AUDIT_ARCH_X86_64.
    expect(decodeBpfProgram(bytes).slice(0, 2)).toEqual([
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      expect.objectContaining({ code: 0x15, k: auditArchX86_64 }),
    ])
  })

  it('hands out copies, so a caller cannot corrupt the shared program', () => {
    const first = seccompFilter()
    first.fill(0)
    expect(seccompFilter().equals(first)).toBe(false)
  })

  describe('writeSeccompFilter', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandrun-seccomp-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it('writes the program to a file and returns the same path on the next call', () => {
      const path = writeSeccompFilter(dir)
      expect(readFileSync(path).equals(seccompFilter())).toBe(true)
      expect(writeSeccompFilter(dir)).toBe(path)
    })
  })
})
