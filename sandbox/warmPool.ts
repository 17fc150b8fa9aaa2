// Pre-started sandboxes. bwrap's set-up (namespaces, mounts, the seccomp filter) is ~3.5 ms of a
// trivial job's start; a few sandboxes are set up ahead of time, each with its own empty workspace
// bound at /work and its own cgroup, running sandrun-exec, which waits on a pipe for the command.
// A job takes one: its bundle is extracted into that workspace, the cgroup gets the job's memory
// limit and fresh accounting, and the command line goes down the pipe. The job's start-up then
// costs one exec. The pool refills itself after each take.
//
// Only jobs of the default shape use it (no requirements install step, no GPU devices, default
// /work and /tmp sizes), and only with the native launcher placing processes in cgroups (v1: it
// joins them; v2: clone3 into them); every other job starts its own bwrap as before. Nothing of one job reaches another: a pre-started
// sandbox serves exactly one job and goes away with it.
import { randomBytes } from 'node:crypto'
import { bwrapArgs } from './bwrapArgs.ts'
import type { JobCgroup } from './cgroups/types.ts'
import { createStartFailureDetector, type BwrapExit, type LaunchBwrapReturnType } from './launchBwrap.ts'
import type { SandboxHostRuntime } from './sandboxHostRuntime.ts'
import type { SpawnedProcess } from './spawner/spawnerClient.ts'
import type { Workspace } from './workspacePool.ts'
import type { JobUser } from './claimJobUsers.ts'

const mib = 1024 * 1024

/** What the command line sent to sandrun-exec may hold (a pipe's largest size). */
const maxPayloadBytes = mib

export type WarmSandboxStart = {
  command: string[]
  env: Record<string, string>
  memoryBytes: number
  onStdout(chunk: Buffer): void
  onStderr(chunk: Buffer): void
}

export type WarmSandbox = {
  workspace: Workspace
  cgroup: JobCgroup
  /** The host uid it runs as (its own); the job that takes it gives it back with its workspace. */
  user: JobUser | undefined
  /**
   * Starts the job in this sandbox; undefined when the command line does not fit (the caller then
   * discards this sandbox and starts its own).
   */
  start(parameters: WarmSandboxStart): LaunchBwrapReturnType | undefined
  /** Stops the sandbox if it was not started; its workspace and cgroup stay with the caller. */
  discard(): Promise<void>
}

export type WarmPool = {
  /** A ready sandbox, now the caller's (with its workspace and cgroup), or undefined. */
  take(): WarmSandbox | undefined
  /** Starts filling again after the launcher was replaced (its loss counted as failures). */
  resume(): void
  close(): Promise<void>
}

export type CreateWarmPoolParameters = {
  runtime: SandboxHostRuntime
  /** sandrun-exec, built by createSandbox. */
  execTool: string
  /** Sandboxes kept ready. */
  size: number
  /** Memory limit while waiting (each job sets its own when it starts). */
  idleMemoryBytes: number
}

/** sandrun-exec's input: argc, argv, then the environment, NUL-separated. */
function execPayload(command: string[], env: Record<string, string>): Buffer {
  // bwrap sets PWD before it execs its command; the job sees the same environment as without a pool.
  const entries = Object.entries({ ...env, PWD: '/work' }).map(([key, value]) => `${key}=${value}`)
  return Buffer.from(`${[String(command.length), ...command, ...entries].join('\0')}\0`)
}

/** Consecutive start failures after which the pool stops (jobs then start their own sandboxes). */
const maxFailures = 3

type Idle = {
  workspace: Workspace
  cgroup: JobCgroup
  user: JobUser | undefined
  process: SpawnedProcess
  exited: Promise<BwrapExit>
  startFailure(exit: BwrapExit): string | null
  attach: { onStdout(chunk: Buffer): void; onStderr(chunk: Buffer): void } | undefined
  taken: boolean
}

/**
 * Stops a sandbox and waits for its exit. bwrap's namespace child, cloned just before its parent was
 * killed, can outlive it (and hold the output pipes): the cgroup is swept until the exit arrives.
 */
async function stop(idle: Idle): Promise<void> {
  idle.process.kill()
  let exited = false
  void idle.exited.then(() => {
    exited = true
  })
  while (!exited) {
    await idle.cgroup.killAll()
    await Promise.race([idle.exited, new Promise((resolve) => setTimeout(resolve, 25))])
  }
}

export function createWarmPool({ runtime, execTool, size, idleMemoryBytes }: CreateWarmPoolParameters): WarmPool {
  // The launcher of the moment: createSandbox starts a new one if it dies.
  const spawner = () => runtime.spawner!
  const cgroups = runtime.cgroups!
  const ready: Idle[] = []
  let starting = 0
  let failures = 0
  let closed = false
  const cleanups = new Set<Promise<void>>()

  const cleanUp = (idle: Idle) => {
    const done = (async () => {
      await idle.cgroup.destroy().catch(() => {})
      await runtime.workspaces.release(idle.workspace)
      if (idle.user) runtime.jobUsers?.give(idle.user)
    })().catch(() => {})
    cleanups.add(done)
    void done.finally(() => cleanups.delete(done))
  }

  async function startOne(): Promise<void> {
    const user = runtime.jobUsers?.take()
    let workspace: Workspace
    try {
      workspace = await runtime.workspaces.acquire(runtime.limits.workBytes, user)
    } catch (error) {
      if (user) runtime.jobUsers?.give(user)
      throw error
    }
    let cgroup: JobCgroup
    try {
      cgroup = cgroups.create(
        `job-${randomBytes(8).toString('hex')}`,
        { memoryBytes: idleMemoryBytes, pids: runtime.limits.pids, cpuCores: 1 },
        spawner().pids,
      )
    } catch (error) {
      await runtime.workspaces.release(workspace)
      if (user) runtime.jobUsers?.give(user)
      throw error
    }
    const args = bwrapArgs({
      etcDir: runtime.etcDir,
      devDir: runtime.devDir,
      workDir: workspace.dir,
      tmpBytes: runtime.limits.tmpBytes,
      seccompFd: 3,
      insideUser: user ? runtime.sandboxUser : undefined,
      // fd 5: sandrun-exec itself, run through /proc (no path of it inside the sandbox); fd 6: the pipe
      // its command line arrives on. Both are closed before the job's command runs.
      command: ['/proc/self/fd/5', '6'],
    })
    const separator = args.indexOf('--')
    const detector = createStartFailureDetector()
    const idle: Idle = { workspace, cgroup, user, process: undefined!, exited: undefined!, startFailure: detector.startFailure, attach: undefined, taken: false }
    idle.process = spawner().spawn({
      file: runtime.bwrapPath,
      args: ['--args', '4', ...args.slice(separator)],
      env: {},
      uid: user?.uid,
      gid: user?.gid,
      extraFds: [
        { kind: 'file', path: runtime.seccompPath! },
        { kind: 'data', data: Buffer.from(`${args.slice(0, separator).join('\0')}\0`) },
        { kind: 'file', path: execTool },
        { kind: 'deferred' },
      ],
      joinFiles: cgroup.selfJoinFiles ?? undefined,
      cgroupDir: cgroup.cloneIntoDir ?? undefined,
      onStdout: (chunk) => idle.attach?.onStdout(chunk),
      onStderr: (chunk) => {
        detector.onStderr(chunk)
        idle.attach?.onStderr(chunk)
      },
    })
    idle.exited = idle.process.exited.catch((): BwrapExit => ({ code: null, signal: 'SIGKILL' }))
    // A sandbox that ends while waiting failed to start (or was stopped by close()).
    void idle.exited.then(() => {
      if (idle.taken) return
      const index = ready.indexOf(idle)
      if (index >= 0) ready.splice(index, 1)
      if (!closed) failures++
      cleanUp(idle)
      fill()
    })
    ready.push(idle)
  }

  function fill(): void {
    while (!closed && spawner().alive && failures < maxFailures && ready.length + starting < size) {
      starting++
      void startOne()
        .catch(() => {
          failures++
        })
        .finally(() => {
          starting--
        })
    }
  }

  function asWarmSandbox(idle: Idle): WarmSandbox {
    let started = false
    return {
      workspace: idle.workspace,
      cgroup: idle.cgroup,
      user: idle.user,
      start({ command, env, memoryBytes, onStdout, onStderr }) {
        const payload = execPayload(command, env)
        if (payload.length >= maxPayloadBytes) return undefined
        started = true
        idle.cgroup.startAccounting(memoryBytes)
        idle.attach = { onStdout, onStderr }
        idle.process.feed(payload)
        void idle.exited.then((exit) => {
          if (idle.startFailure(exit) === null) failures = 0
        })
        // The job sees a launcher failure as the cold path does: a rejection (SANDBOX_FAILED).
        return { kill: idle.process.kill, exited: idle.process.exited, startFailure: idle.startFailure }
      },
      async discard() {
        if (started) return
        started = true
        await stop(idle)
      },
    }
  }

  fill()
  return {
    take() {
      const idle = ready.shift()
      if (!idle) return undefined
      idle.taken = true
      fill()
      return asWarmSandbox(idle)
    },
    resume() {
      failures = 0
      fill()
    },
    async close() {
      closed = true
      while (starting > 0) await new Promise((resolve) => setTimeout(resolve, 5))
      await Promise.all(ready.splice(0).map(stop))
      await Promise.all(cleanups)
    },
  }
}
