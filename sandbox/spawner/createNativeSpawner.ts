// The native spawner: sandrun-spawn.c, compiled once per host with the system C compiler and kept
// by content hash. It forks in ~0.1 ms where a Node process needs ~2.5 ms of CPU (its page tables
// are copied and torn down again), so it is preferred; without a compiler the Node spawner is used.
// Requests and events are length-prefixed binary frames on its stdin and stdout (see the C file).
import { execFile, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, lstatSync, readFileSync, renameSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { SandboxError } from '../errors.ts'
import { findExecutable } from '../findExecutable.ts'
import { createSpawnerClient, type Spawner } from './spawnerClient.ts'
import type { SpawnerEvent, SpawnerRequest } from './spawnerMessages.ts'
import { errorMessageOf } from '../../errors/index.ts'

const run = promisify(execFile)

const request = { spawn: 1, kill: 2, write: 3 } as const
const event = { ready: 1, spawned: 2, stdout: 3, stderr: 4, exit: 5, error: 6 } as const
const unchanged = 0xffffffff

/** Signal numbers to names; the first name wins where there are aliases (SIGABRT before SIGIOT). */
const signalNames = new Map<number, NodeJS.Signals>()
for (const [name, number] of Object.entries(os.constants.signals)) if (!signalNames.has(number)) signalNames.set(number, name as NodeJS.Signals)

export type NativeTools = {
  /** sandrun-spawn: starts processes for the service. */
  spawn: string
  /** sandrun-exec: the first program of a pre-started sandbox (see warmPool.ts). */
  exec: string
}

const tools = {
  spawn: { source: fileURLToPath(new URL('./sandrun-spawn.c', import.meta.url)), flags: ['-O2', '-std=gnu11'] },
  // No C library: nothing to start up on every job.
  exec: {
    source: fileURLToPath(new URL('./sandrun-exec.c', import.meta.url)),
    flags: ['-O2', '-static', '-nostdlib', '-fno-pie', '-no-pie', '-fno-stack-protector', '-fno-builtin'],
  },
}

/** One tool, built into `dir` unless a build of the same source is there. */
async function buildTool(compiler: string, dir: string, name: keyof typeof tools): Promise<string> {
  const { source, flags } = tools[name]
  const prefix = `sandrun-${name}-`
  const file = path.join(dir, `${prefix}${createHash('sha256').update(readFileSync(source)).update(flags.join(' ')).digest('hex').slice(0, 16)}`)
  if (existsSync(file)) {
    // Run only what this user built: in a shared directory someone else's file could sit here.
    const stat = lstatSync(file)
    if (!stat.isFile() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) throw new Error(`${file} is not this user's build`)
    return file
  }
  // Unique per build: two sandboxes of one process (or two processes) may build at once; the
  // rename makes the first finished build the one used.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    // Generous: seconds on a real machine, up to minutes on a busy emulated CPU (the test VM).
    await run(compiler, [...flags, '-o', temporary, source], { timeout: 600_000 })
    renameSync(temporary, file)
  } finally {
    rmSync(temporary, { force: true })
  }
  // Builds of older sources stay: an instance still running may open its sandrun-exec by path
  // (they are a few KB each, on a tmpfs emptied at boot or in a cache directory, see nativeToolsDir.ts).
  return file
}

/**
 * The native tools in `dir`, built when missing. A reason instead when there is no C compiler or
 * a build fails: the caller then falls back to the Node spawner.
 */
export async function buildNativeTools(
  dir: string,
  compilers: readonly string[] = ['/usr/bin/cc', '/usr/bin/gcc', '/usr/bin/clang', '/usr/local/bin/cc'],
): Promise<{ tools: NativeTools } | { tools: null; reason: string }> {
  const compiler = findExecutable([...compilers])
  if (!compiler) return { tools: null, reason: 'no C compiler (install gcc)' }
  try {
    const [spawn, exec] = await Promise.all([buildTool(compiler, dir, 'spawn'), buildTool(compiler, dir, 'exec')])
    return { tools: { spawn, exec } }
  } catch (error) {
    const stderr = error instanceof Error && 'stderr' in error && typeof error.stderr === 'string' ? error.stderr.split('\n')[0] : undefined
    const detail = stderr || errorMessageOf(error)
    return { tools: null, reason: `the C build failed${detail ? `: ${detail}` : ''}` }
  }
}

function encodeRequest(message: SpawnerRequest): Buffer {
  const head = Buffer.alloc(9)
  head.writeUInt8(request[message.type], 4)
  head.writeUInt32LE(message.id, 5)
  const parts: Buffer[] = [head]
  if (message.type === 'write') parts.push(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength))
  if (message.type === 'spawn') {
    const joins = message.joinFiles ?? []
    const counts = Buffer.alloc(16)
    counts.writeUInt32LE(message.uid ?? unchanged, 0)
    counts.writeUInt32LE(message.gid ?? unchanged, 4)
    const env = Object.entries(message.env).map(([key, value]) => `${key}=${value}`)
    counts.writeUInt16LE(message.args.length + 1, 8)
    counts.writeUInt16LE(env.length, 10)
    counts.writeUInt16LE(joins.length, 12)
    counts.writeUInt16LE(message.extraFds.length, 14)
    parts.push(counts)
    const strings = [message.file, message.file, ...message.args, ...env, ...joins.flatMap((j) => [j.job, j.home]), message.cgroupDir ?? '']
    for (const text of strings) parts.push(Buffer.from(`${text}\0`))
    for (const fd of message.extraFds) {
      if (fd.kind === 'file') {
        parts.push(Buffer.from([0]), Buffer.from(`${fd.path}\0`))
      } else if (fd.kind === 'deferred') {
        parts.push(Buffer.from([2]))
      } else {
        const length = Buffer.alloc(5)
        length.writeUInt8(1, 0)
        length.writeUInt32LE(fd.data.byteLength, 1)
        parts.push(length, Buffer.from(fd.data.buffer, fd.data.byteOffset, fd.data.byteLength))
      }
    }
  }
  const frame = Buffer.concat(parts)
  frame.writeUInt32LE(frame.length - 4, 0)
  return frame
}

/** Splits the launcher's output into events. */
/**
 * Payloads at least this big are passed on as views of the bytes read from the pipe (each read has
 * its own memory, never reused); smaller ones are copied, so a job writing a byte at a time cannot
 * make a consumer that keeps its chunks hold a 64 KiB read per byte.
 */
const viewPayloadBytes = 16 * 1024

/**
 * Frames from the launcher's stdout. A job printing as fast as it can fills every 64 KiB read with
 * frames of up to 64 KiB, so most frames straddle two reads: only such a frame's own bytes are
 * copied together (joining everything buffered with each new read copied megabytes a turn).
 */
function createEventDecoder(onEvent: (event: SpawnerEvent) => void): (chunk: Buffer) => void {
  // Bytes read and not yet decoded, in order, and how many.
  let parts: Buffer[] = []
  let length = 0
  const consume = (count: number) => {
    length -= count
    while (count > 0) {
      const first = parts[0]!
      if (first.length <= count) {
        count -= first.length
        parts.shift()
      } else {
        parts[0] = first.subarray(count)
        count = 0
      }
    }
  }
  return (chunk) => {
    parts.push(chunk)
    length += chunk.length
    while (length >= 4) {
      if (parts[0]!.length < 4) parts = [Buffer.concat(parts, length)]
      const frameLength = 4 + parts[0]!.readUInt32LE(0)
      if (length < frameLength) break
      // One read holds the whole frame (a view), or it is joined from several (its own copy).
      const joined = parts[0]!.length < frameLength
      const frame = joined ? Buffer.concat(parts, frameLength) : parts[0]!.subarray(0, frameLength)
      consume(frameLength)
      const type = frame.readUInt8(4)
      const id = frame.readUInt32LE(5)
      const payload = frame.subarray(9)
      switch (type) {
        case event.ready:
          onEvent({ type: 'ready', id: 0 })
          break
        case event.spawned:
          onEvent({ type: 'spawned', id, pid: payload.readUInt32LE(0) })
          break
        case event.stdout:
        case event.stderr:
          onEvent({ type: type === event.stdout ? 'stdout' : 'stderr', id, data: joined || payload.length >= viewPayloadBytes ? payload : Buffer.from(payload) })
          break
        case event.exit: {
          const code = payload.readInt32LE(0)
          const signal = payload.readInt32LE(4)
          onEvent({ type: 'exit', id, code: code >= 0 ? code : null, signal: code >= 0 ? null : (signalNames.get(signal) ?? null) })
          break
        }
        case event.error:
          onEvent({ type: 'error', id, message: payload.toString('utf8') })
          break
      }
    }
  }
}

export async function createNativeSpawner(binary: string): Promise<Spawner> {
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] })
  let closed = false
  let gone = false
  let client: ReturnType<typeof createSpawnerClient> | undefined
  let ready!: () => void
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve
    child.once('error', reject)
    child.once('exit', (code) => reject(new SandboxError('SANDBOX_FAILED', 'The sandbox process launcher did not start.', { details: `exit ${code}` })))
  })
  child.stdout.on(
    'data',
    createEventDecoder((message) => (message.type === 'ready' ? ready() : client?.handle(message))),
  )
  child.stdin.on('error', () => {})
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      gone = true
      resolve()
    }),
  )
  // Only once its output is read to the end: events it wrote before it died (a process's exit, its
  // last output) may still be in the pipe when 'exit' comes, and those processes did not fail.
  child.once('close', () => client?.failAll('spawner exited'))
  await started
  client = createSpawnerClient((message) => {
    if (closed || gone) return false
    child.stdin.write(encodeRequest(message))
    return true
  })
  return {
    kind: 'native',
    pids: new Set([child.pid!]),
    exited,
    get alive() {
      return !closed && !gone
    },
    spawn: client.spawn,
    async close() {
      closed = true
      if (gone) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.stdin.end()
      await exited
    },
  }
}
