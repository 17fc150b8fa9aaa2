// Does this kernel have the 32-bit system call entry (int 0x80)? Asked outside any sandbox: some
// kernels and hypervisors leave it out (int 0x80 then segfaults in every process), and a sandbox
// test of that entry can only fail for the host's reasons there.
import { spawnSync } from 'node:child_process'
import type { HostSupport } from './requireHost.ts'

// mov eax, 20 (i386 getpid); int 0x80; ret — the same instructions the escape test runs.
const program = `
import ctypes, mmap, os
page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3]))
call = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
print(call(), os.getpid())
`

let answer: HostSupport | undefined

export function probeInt80(): HostSupport {
  answer ??= ask()
  return answer
}

function ask(): HostSupport {
  const run = spawnSync('/usr/bin/python3', ['-c', program], { encoding: 'utf8', timeout: 20_000 })
  if (run.signal === 'SIGSEGV') return { supported: false, reason: 'this kernel has no 32-bit system call entry: int 0x80 segfaults outside the sandbox too' }
  const [ret, pid] = (run.stdout ?? '').trim().split(' ').map(Number)
  if (run.status === 0 && ret === pid) return { supported: true }
  if (run.status === 0 && ret !== undefined && ret < 0) return { supported: false, reason: `int 0x80 fails outside the sandbox too (returns ${ret})` }
  throw new Error(`Cannot check whether this host has the 32-bit system call entry: /usr/bin/python3 ${run.error?.message ?? `ended ${run.signal ?? `with exit ${run.status}`}`} ${run.stderr ?? ''}`.trim())
}
