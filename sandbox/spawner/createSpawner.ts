// The service side of the spawner process: forks it once, routes requests and events, and gives
// each started process a small handle (pid, output callbacks, exit, kill).
import { type ChildProcess, fork } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { transformSync } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { SandboxError } from '../errors.ts'
import type { ExtraFd, SpawnerEvent, SpawnerRequest } from './spawnerMessages.ts'

export type SpawnParameters = {
  file: string
  args: string[]
  env: Record<string, string>
  uid?: number | undefined
  gid?: number | undefined
  extraFds: ExtraFd[]
  /** cgroup v1 `tasks` files the child is born into (see SpawnRequest). */
  joinFiles?: string[] | undefined
  onStdout(chunk: Buffer): void
  onStderr(chunk: Buffer): void
}

export type SpawnedProcess = {
  /** Resolves once the process exists (rejects when it could not be started). */
  pid: Promise<number>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(): void
}

export type Spawner = {
  /** The spawner's own pid (it passes through job cgroups; a job's kill must spare it). */
  pids: ReadonlySet<number>
  /** False once the spawner process is gone; callers then start processes themselves. */
  readonly alive: boolean
  spawn(parameters: SpawnParameters): SpawnedProcess
  close(): Promise<void>
}

type Pending = {
  parameters: SpawnParameters
  resolvePid(pid: number): void
  rejectPid(error: Error): void
  resolveExit(exit: { code: number | null; signal: NodeJS.Signals | null }): void
  rejectExit(error: Error): void
}

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const spawnerSource = fileURLToPath(new URL('./spawnerProcess.ts', import.meta.url))

/**
 * The spawner's TypeScript, stripped of types into a plain module in `dir` (cached by content).
 * Run under the tsx loader the spawner weighs ~80 MB, and fork's cost grows with that; as plain
 * JavaScript it is about half, which saves ~1 ms per job start.
 */
function compiledSpawner(dir: string): string {
  const source = readFileSync(spawnerSource, 'utf8')
  const file = path.join(dir, `spawner-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.mjs`)
  if (!existsSync(file)) {
    const { code } = transformSync(source, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: 'spawnerProcess.ts' })
    writeFileSync(`${file}.${process.pid}.tmp`, code)
    renameSync(`${file}.${process.pid}.tmp`, file)
  }
  return file
}

export type CreateSpawnerParameters = {
  /** Where the compiled spawner module is kept. */
  dir: string
}

export async function createSpawner({ dir }: CreateSpawnerParameters): Promise<Spawner> {
  const child: ChildProcess = fork(compiledSpawner(dir), [], {
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  // Ready once its module has loaded, so the first job does not pay the start-up.
  await new Promise<void>((resolve, reject) => {
    const onMessage = (event: SpawnerEvent) => {
      if (event.type !== 'ready') return
      child.off('message', onMessage)
      resolve()
    }
    child.on('message', onMessage)
    child.once('error', reject)
    child.once('exit', (code) => reject(new SandboxError('SANDBOX_FAILED', 'The sandbox process launcher did not start.', { details: `exit ${code}` })))
  })
  const pending = new Map<number, Pending>()
  let nextId = 0
  let closed = false

  const failAll = (message: string) => {
    for (const entry of pending.values()) {
      const error = new SandboxError('SANDBOX_FAILED', 'The sandbox process launcher stopped.', { details: message })
      entry.rejectPid(error)
      entry.rejectExit(error)
    }
    pending.clear()
  }
  child.on('exit', () => failAll('spawner exited'))
  child.on('message', (event: SpawnerEvent) => {
    const entry = pending.get(event.id)
    if (!entry) return
    switch (event.type) {
      case 'ready':
        break
      case 'spawned':
        entry.resolvePid(event.pid)
        break
      case 'stdout':
        entry.parameters.onStdout(Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength))
        break
      case 'stderr':
        entry.parameters.onStderr(Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength))
        break
      case 'exit':
        pending.delete(event.id)
        entry.resolveExit({ code: event.code, signal: event.signal })
        break
      case 'error': {
        pending.delete(event.id)
        const error = new SandboxError('SANDBOX_FAILED', 'The sandbox failed to start.', { details: event.message })
        entry.rejectPid(error)
        entry.rejectExit(error)
        break
      }
    }
  })

  const request = (message: SpawnerRequest) => {
    if (!closed && child.connected) child.send(message)
  }

  return {
    pids: new Set([child.pid!]),
    get alive() {
      return !closed && child.connected && child.exitCode === null && child.signalCode === null
    },
    spawn(parameters) {
      const id = ++nextId
      const pid = deferred<number>()
      const exited = deferred<{ code: number | null; signal: NodeJS.Signals | null }>()
      // Callers await `exited`; `pid` may be ignored, so its rejection must not go unhandled.
      pid.promise.catch(() => {})
      pending.set(id, {
        parameters,
        resolvePid: pid.resolve,
        rejectPid: pid.reject,
        resolveExit: exited.resolve,
        rejectExit: exited.reject,
      })
      const { onStdout: _out, onStderr: _err, ...rest } = parameters
      if (closed || !child.connected) {
        failAll('spawner is closed')
      } else {
        request({ type: 'spawn', id, ...rest })
      }
      return { pid: pid.promise, exited: exited.promise, kill: () => request({ type: 'kill', id }) }
    },
    async close() {
      closed = true
      if (child.exitCode !== null || child.signalCode !== null) return
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.disconnect()
      await gone
    },
  }
}
