// The filter under the real kernel: every interpreter the sandbox offers runs a small real program
// under bwrap with `--seccomp`, and a ctypes probe makes each denied call for real. Runs as an
// unprivileged uid (65534 when the tests run as root) so bwrap creates the user namespace itself.
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeInterpreter } from '../../test/host/probeInterpreter.ts'
import { requireHost } from '../../test/host/requireHost.ts'
import type { InterpreterName } from '../types.ts'
import { deniedSyscalls, writeSeccompFilter, x32SyscallBit, x86_64Syscalls } from './index.ts'
import { addressFamily, cloneFlags, ioctlRequest, personality, SIGCHLD } from './linuxConstants.ts'

type SandboxRun = { code: number | null; stdout: string; stderr: string }

let dir: string
let filterPath: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandrun-seccomp-'))
  filterPath = writeSeccompFilter(dir)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const asRoot = process.getuid?.() === 0
// node may live outside /usr (nvm, a tarball); bind its binary where the host has it.
const nodeBind = process.execPath.startsWith('/usr/') ? [] : ['--ro-bind', process.execPath, process.execPath]

function runSandboxed(command: string[], { seccomp = true } = {}): Promise<SandboxRun> {
  const args = [
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/lib64',
    '/lib64',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/bin',
    '/bin',
    ...nodeBind,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--ro-bind',
    '/etc',
    '/etc',
    '--chdir',
    '/tmp',
    ...(seccomp ? ['--seccomp', '3'] : []),
    '--',
    ...command,
  ]
  // bwrap reads the fd to its end, so each run needs its own open file (a shared offset would be at EOF).
  const filterFd = openSync(filterPath, 'r')
  return new Promise((resolve, reject) => {
    const child = spawn('bwrap', args, {
      stdio: ['ignore', 'pipe', 'pipe', filterFd],
      env: { PATH: '/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', TZ: 'UTC' },
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      timeout: 20_000, // a hung sandbox fails its test instead of stalling the file
    })
    closeSync(filterFd)
    // stdio has a fourth entry (the filter fd), so TypeScript cannot tell that 1 and 2 are pipes.
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const python = `
import multiprocessing, subprocess, threading
total = []
threads = [threading.Thread(target=total.append, args=(n,)) for n in range(5)]
for t in threads: t.start()
for t in threads: t.join()
print("threads", sum(total))
print(subprocess.run(["echo", "child"], capture_output=True, text=True).stdout.strip())
with multiprocessing.Pool(2) as pool: print("pool", pool.map(abs, [-1, -2, -3]))
with open("/tmp/out.txt", "w") as f: f.write("written")
print(open("/tmp/out.txt").read())
`

const node = `
const { Worker } = require('node:worker_threads')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
new Worker("require('node:worker_threads').parentPort.postMessage(6 * 7)", { eval: true }).on('message', (answer) => {
  console.log('worker', answer)
  console.log(execFileSync('/bin/sh', ['-c', 'echo child']).toString().trim())
  fs.writeFileSync('/tmp/out.txt', 'written')
  console.log(fs.readFileSync('/tmp/out.txt', 'utf8'))
})
`

const interpreters: [InterpreterName, string[], string][] = [
  ['python3', ['/usr/bin/python3', '-c', python], 'threads 10\nchild\npool [1, 2, 3]\nwritten\n'],
  ['node', [process.execPath, '-e', node], 'worker 42\nchild\nwritten\n'],
  [
    'bash',
    ['/bin/bash', '-c', 'seq 1 5 | grep -v 3 | tr "\\n" " "; echo; echo "$(echo sub)$( (echo shell) )"; mkfifo /tmp/f; echo fifo > /tmp/f & cat /tmp/f; wait'],
    '1 2 4 5 \nsubshell\nfifo\n',
  ],
  ['sh', ['/bin/sh', '-c', 'echo $(( 6 * 7 )) | cat; x=$(echo sub); echo "$x"'], '42\nsub\n'],
  ['perl', ['/usr/bin/perl', '-e', 'my $pid = fork; exit 0 unless $pid; waitpid($pid, 0); open(my $p, "-|", "echo", "child") or die; print "perl ", 6 * 7, " ", <$p>'], 'perl 42 child\n'],
  ['ruby', ['/usr/bin/ruby', '-e', 'puts Thread.new { 6 * 7 }.value; puts `echo child`'], '42\nchild\n'],
  ['Rscript', ['/usr/bin/Rscript', '-e', 'cat(6 * 7, "\\n"); cat(system("echo child", intern = TRUE), "\\n")'], '42 \nchild \n'],
  ['php', ['/usr/bin/php', '-r', 'echo 6 * 7, PHP_EOL; echo shell_exec("echo child");'], '42\nchild\n'],
]

describe('interpreters under the filter', () => {
  it.for(interpreters)('%s runs a real program normally', async ([name, command, expected], context) => {
    // node is this test's own binary; the others are the host's.
    if (name !== 'node') requireHost(context, probeInterpreter(name))
    const run = await runSandboxed(command)
    expect(run).toEqual({ code: 0, stdout: expected, stderr: '' })
  })
})

// Calls each [nr, args] with libc's syscall() and prints "ok" or the errno, one per call.
const probe = `
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
parent = os.getpid()
results = []
for nr, args in json.loads(sys.argv[1]):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(nr), *[ctypes.c_ulong(int(a)) for a in args])
    if result == 0 and os.getpid() != parent:
        os._exit(0)  # the child of a clone that got through
    results.append("ok" if result != -1 else ctypes.get_errno())
print(json.dumps(results))
`

async function probeSyscalls(calls: [number, readonly bigint[]][], options?: { seccomp: boolean }): Promise<(number | 'ok')[]> {
  const encoded = JSON.stringify(calls.map(([nr, args]) => [nr, args.map(String)]))
  const run = await runSandboxed(['/usr/bin/python3', '-c', probe, encoded], options)
  expect(run.stderr).toBe('')
  return JSON.parse(run.stdout) as (number | 'ok')[]
}

describe('denied system calls under the real kernel', () => {
  const calls = deniedSyscalls.map((denied): [number, readonly bigint[]] => [x86_64Syscalls[denied.name], denied.args ?? []])
  const label = (index: number): string => `${deniedSyscalls[index]!.name}(${deniedSyscalls[index]!.args?.join(', ') ?? ''})`

  it('fails every one of them with EPERM', async () => {
    const results = await probeSyscalls(calls)
    expect(Object.fromEntries(results.map((result, index) => [label(index), result]))).toEqual(
      Object.fromEntries(calls.map((_call, index) => [label(index), 1])),
    )
  })

  it('is what stops them: without the filter the namespace calls get through', async () => {
    const results = await probeSyscalls(calls, { seccomp: false })
    const unfiltered = Object.fromEntries(results.map((result, index) => [label(index), result]))
    expect(unfiltered['unshare()']).not.toBe(1)
    expect(unfiltered['setns()']).not.toBe(1)
    expect(unfiltered[`clone(${cloneFlags.CLONE_NEWUSER | SIGCHLD})`]).toBe('ok')
    expect(unfiltered[`personality(${personality.ADDR_NO_RANDOMIZE})`]).toBe('ok')
  })
})

describe('argument rules under the real kernel', () => {
  it('answers each rule as the allowlist says', async () => {
    const results = await probeSyscalls([
      [x86_64Syscalls.socket, [addressFamily.AF_UNIX, 1n, 0n]],
      [x86_64Syscalls.socket, [addressFamily.AF_INET, 1n, 0n]],
      [x86_64Syscalls.socket, [addressFamily.AF_INET6, 2n, 0n]],
      [x86_64Syscalls.socket, [addressFamily.AF_NETLINK, 3n, 0n]],
      [x86_64Syscalls.socket, [addressFamily.AF_PACKET, 3n, 0n]],
      [x86_64Syscalls.clone3, [0n, 0n]],
      [x86_64Syscalls.ioctl, [1n, ioctlRequest.TIOCSTI, 0n]],
      [x86_64Syscalls.personality, [personality.QUERY]],
      [x32SyscallBit | x86_64Syscalls.getpid, []],
    ])
    expect(results).toEqual(['ok', 97, 97, 97, 97, 38, 1, 'ok', 38])
  })
})
