// The service side of a spawner, whichever process it is (the Node spawner or the native one):
// numbers requests, routes their events back, and gives each started process a small handle.
import { SandboxError } from '../errors.ts'
import { withHomeCgroups } from './homeCgroups.ts'
import type { SpawnerEvent, SpawnerRequest, SpawnRequest } from './spawnerMessages.ts'
import { errorMessageOf } from '../../errors/index.ts'

/** A SpawnRequest as callers give it: join files without their home, output callbacks. */
export type SpawnParameters = Omit<SpawnRequest, 'type' | 'id' | 'joinFiles'> & {
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
  /** Fills the process's deferred pipe (ExtraFd `deferred`) and closes it. */
  feed(data: Uint8Array): void
}

export type Spawner = {
  /** Which launcher this is: `native` (sandrun-spawn) or `node`. */
  kind: 'native' | 'node'
  /** The spawner's own pid (it passes through job cgroups; a job's kill must spare it). */
  pids: ReadonlySet<number>
  /** False once the spawner process is gone; callers then start processes themselves. */
  readonly alive: boolean
  /** Settles when the spawner process is gone, for whatever reason. */
  exited: Promise<void>
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

export type SpawnerClient = {
  spawn(parameters: SpawnParameters): SpawnedProcess
  /** An event from the spawner process. */
  handle(event: SpawnerEvent): void
  /** The spawner process is gone: every pending start and exit fails. */
  failAll(message: string): void
}

/** `send` delivers a request to the spawner process, or returns false when it cannot. */
export function createSpawnerClient(send: (request: SpawnerRequest) => boolean): SpawnerClient {
  const pending = new Map<number, Pending>()
  let nextId = 0

  const fail = (id: number, error: Error) => {
    const entry = pending.get(id)
    if (!entry) return
    pending.delete(id)
    entry.rejectPid(error)
    entry.rejectExit(error)
  }
  const failAll = (message: string) => {
    for (const id of [...pending.keys()]) fail(id, new SandboxError('SANDBOX_FAILED', 'The sandbox process launcher stopped.', { details: message }))
  }

  return {
    failAll,
    handle(event) {
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
        case 'error':
          fail(event.id, new SandboxError('SANDBOX_FAILED', 'The sandbox failed to start.', { details: event.message }))
          break
      }
    },
    spawn(parameters) {
      const id = ++nextId
      const pid = deferred<number>()
      const exited = deferred<{ code: number | null; signal: NodeJS.Signals | null }>()
      // Callers await `exited`; `pid` may be ignored, so its rejection must not go unhandled.
      pid.promise.catch(() => {})
      pending.set(id, { parameters, resolvePid: pid.resolve, rejectPid: pid.reject, resolveExit: exited.resolve, rejectExit: exited.reject })
      const { onStdout: _out, onStderr: _err, joinFiles, ...rest } = parameters
      try {
        const request: SpawnerRequest = { type: 'spawn', id, ...rest, joinFiles: joinFiles && withHomeCgroups(joinFiles) }
        if (!send(request)) failAll('spawner is closed')
      } catch (error) {
        fail(id, new SandboxError('SANDBOX_FAILED', 'The sandbox failed to start.', { details: errorMessageOf(error) }))
      }
      return {
        pid: pid.promise,
        exited: exited.promise,
        kill: () => void send({ type: 'kill', id }),
        feed: (data) => void send({ type: 'write', id, data }),
      }
    },
  }
}
