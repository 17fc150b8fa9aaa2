// The native launcher on its own: the request encoding (argv, env, extra fds, uid), events back,
// kills, and a clear error for a process that cannot start.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildNativeTools, createNativeSpawner } from './createNativeSpawner.ts'
import type { SpawnParameters, Spawner } from './spawnerClient.ts'
import { startTestSpawner, type TestSpawner } from '../../test/sandbox/startTestSpawner.ts'

let launcher: TestSpawner
let dir: string
let spawner: Spawner

beforeAll(async () => {
  launcher = await startTestSpawner()
  ;({ dir, spawner } = launcher)
})
afterAll(async () => {
  await launcher?.close()
})

async function run(parameters: Omit<SpawnParameters, 'onStdout' | 'onStderr'>) {
  const out: Buffer[] = []
  const err: Buffer[] = []
  const started = spawner.spawn({ ...parameters, onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) })
  const exit = await started.exited
  return { exit, pid: await started.pid, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() }
}

describe('native launcher', () => {
  it('passes argv and exactly the given environment', async () => {
    const result = await run({ file: '/bin/sh', args: ['-c', 'echo "$0|$1|$GREETING"; env | sort', 'a b', 'c'], env: { GREETING: 'hi there' }, extraFds: [] })
    expect(result.exit).toEqual({ code: 0, signal: null })
    const [first, ...env] = result.out.trim().split('\n')
    expect(first).toBe('a b|c|hi there')
    expect(env.filter((line) => !line.startsWith('PWD=') && !line.startsWith('SHLVL=') && !line.startsWith('_='))).toEqual(['GREETING=hi there'])
  })

  it('hands extra fds 3 and up: a file opened read-only and a pipe filled with data', async () => {
    const file = path.join(dir, 'input.txt')
    writeFileSync(file, 'from a file')
    const data = Buffer.alloc(200_000, 'd')
    const result = await run({
      file: '/bin/sh',
      args: ['-c', 'cat <&3; echo; wc -c <&4; echo x >&3 || echo read-only'],
      env: {},
      extraFds: [
        { kind: 'file', path: file },
        { kind: 'data', data },
      ],
    })
    expect(result.out.split('\n').slice(0, 2)).toEqual(['from a file', '200000'])
    expect(result.out).toContain('read-only')
  })

  it('delivers every byte of processes printing megabytes at once, each its own, in order', async () => {
    // Frames of up to 64 KiB from two processes interleave and straddle the service's reads.
    const script = (seed: number) => `import sys; out = sys.stdout.buffer\nfor i in range(3000): out.write(bytes((i * 7 + j + ${seed}) % 251 for j in range(1 + (i * 37) % 2000)))`
    const expected = (seed: number) => Buffer.concat(Array.from({ length: 3000 }, (_, i) => Buffer.from(Array.from({ length: 1 + ((i * 37) % 2000) }, (_, j) => (i * 7 + j + seed) % 251))))
    const runs = await Promise.all([1, 2].map(async (seed) => {
      const out: Buffer[] = []
      const started = spawner.spawn({ file: '/usr/bin/python3', args: ['-c', script(seed)], env: {}, extraFds: [], onStdout: (c) => out.push(Buffer.from(c)), onStderr: () => undefined })
      expect(await started.exited).toEqual({ code: 0, signal: null })
      return Buffer.concat(out)
    }))
    for (const [index, seed] of [1, 2].entries()) {
      expect(runs[index]!.length).toBe(expected(seed).length)
      expect(runs[index]!.equals(expected(seed))).toBe(true)
    }
  })

  it('runs the process as the given uid and gid without supplementary groups', async () => {
    const result = await run({ file: '/usr/bin/id', args: [], env: {}, uid: 65534, gid: 65534, extraFds: [] })
    expect(result.out.trim()).toBe('uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)')
  })

  it('reports the signal that ended a process, and kills on request', async () => {
    const out: Buffer[] = []
    const started = spawner.spawn({ file: '/bin/sh', args: ['-c', 'echo up; exec sleep 30'], env: {}, extraFds: [], onStdout: (c) => out.push(c), onStderr: () => {} })
    await started.pid
    while (Buffer.concat(out).toString() !== 'up\n') await new Promise((resolve) => setImmediate(resolve))
    started.kill()
    expect(await started.exited).toEqual({ code: null, signal: 'SIGKILL' })
  })

  it('rejects with the reason when the program cannot be started, and keeps serving', async () => {
    await expect(run({ file: '/nonexistent/program', args: [], env: {}, extraFds: [] })).rejects.toMatchObject({
      details: 'cannot start the process: No such file or directory',
    })
    await expect(run({ file: '/bin/sh', args: ['-c', 'x'], env: {}, extraFds: [{ kind: 'file', path: '/nonexistent/input' }] })).rejects.toMatchObject({
      details: 'cannot open an input file: No such file or directory',
    })
    expect((await run({ file: '/bin/echo', args: ['still', 'here'], env: {}, extraFds: [] })).out).toBe('still here\n')
    expect(spawner.alive).toBe(true)
  })
})

describe('a launcher that dies', () => {
  // Stands in for sandrun-spawn: answers one spawn request with SPAWNED, then exits at once, while a
  // process it leaves behind (holding its stdout) writes that job's last output and EXIT.
  const fakeLauncher = `import os, struct, sys
out = sys.stdout.buffer
def event(kind, id, payload=b""):
    out.write(struct.pack("<IBI", 5 + len(payload), kind, id) + payload)
    out.flush()
event(1, 0)
length = struct.unpack("<I", sys.stdin.buffer.read(4))[0]
id = struct.unpack("<I", sys.stdin.buffer.read(length)[1:5])[0]
event(2, id, struct.pack("<I", 4242))
parent = os.getpid()
if os.fork() == 0:
    while os.getppid() == parent:
        os.sched_yield()
    event(3, id, b"last words\\n")
    event(5, id, struct.pack("<ii", 7, 0))
    os._exit(0)
os._exit(0)
`

  it("still delivers the exit and output it reported before it died; the jobs it never reported fail", async () => {
    const file = path.join(dir, 'fake-launcher')
    writeFileSync(file, `#!/usr/bin/python3\n${fakeLauncher}`)
    chmodSync(file, 0o755)
    const fake = await createNativeSpawner(file)
    const out: Buffer[] = []
    const started = fake.spawn({ file: '/bin/true', args: [], env: {}, extraFds: [], onStdout: (c) => out.push(c), onStderr: () => {} })
    expect(await started.pid).toBe(4242)
    expect(await started.exited).toEqual({ code: 7, signal: null })
    expect(Buffer.concat(out).toString()).toBe('last words\n')
    await fake.exited
    expect(fake.alive).toBe(false)
    // Sent after it died: fails at once with the launcher's reason.
    await expect(fake.spawn({ file: '/bin/true', args: [], env: {}, extraFds: [], onStdout: () => {}, onStderr: () => {} }).exited).rejects.toMatchObject({ code: 'SANDBOX_FAILED' })
  })
})

describe('building the native tools', () => {
  it('gives a reason instead of tools where there is no C compiler, or the build fails', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'sandrun-spawn-build-'))
    try {
      expect(await buildNativeTools(empty, ['/nonexistent/cc'])).toEqual({ tools: null, reason: 'no C compiler (install gcc)' })
      expect(await buildNativeTools(empty, ['/usr/bin/false'])).toMatchObject({ tools: null, reason: expect.stringMatching(/^the C build failed/) })
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })

  it("refuses a file in its place that is not this user's build", async () => {
    const shared = mkdtempSync(path.join(tmpdir(), 'sandrun-spawn-build-'))
    try {
      const built = await buildNativeTools(shared)
      if (built.tools === null) throw new Error(built.reason)
      // Someone else's file under the expected name (here: made group-writable).
      chmodSync(built.tools.spawn, 0o775)
      expect(await buildNativeTools(shared)).toMatchObject({ tools: null, reason: expect.stringMatching(/not this user's build/) })
    } finally {
      rmSync(shared, { recursive: true, force: true })
    }
  })
})
