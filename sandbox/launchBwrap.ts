// Starts one bwrap process of a job inside the job's cgroup and hands back its exit: the job's
// entrypoint and every step before it (requirements install) go through here, so each is placed in
// the cgroup the same way before any of its code runs, and the cgroup accounts for all of them.
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import type { Readable, Writable } from 'node:stream'
import { bwrapArgs } from './bwrapArgs.ts'
import type { JobCgroup } from './cgroups/types.ts'
import { SandboxError } from './errors.ts'
import type { Spawner } from './spawner/spawnerClient.ts'
import type { ExtraFd } from './spawner/spawnerMessages.ts'

export type LaunchBwrapRuntime = {
  /** Starts processes from a small helper process (cheap fork); absent: spawn from this process. */
  spawner?: Spawner | undefined
  bwrapPath: string
  /** `prlimit` binary, used for rlimits when there is no cgroup backend. */
  prlimitPath: string | null
  etcDir: string
  /** The prepared /dev (root), else null: bwrap builds one per job. */
  devDir: string | null
  seccompPath: string | null
  /** The uid/gid jobs have inside the sandbox; undefined when the service itself is not root. */
  sandboxUser: { uid: number; gid: number } | undefined
  /** cgroup v2: the native launcher starts processes inside a job cgroup (clone3, checked at start-up). */
  cloneIntoCgroup?: boolean | undefined
}

export type LaunchBwrapParameters = {
  cgroup: JobCgroup | undefined
  /** The host uid/gid this job runs as (its own, see claimJobUsers.ts); undefined: the service's. */
  user: { uid: number; gid: number } | undefined
  workDir: string
  tmpBytes: number
  /** argv inside the sandbox. */
  command: string[]
  env: Record<string, string>
  /** bwrap options placed before `--remount-ro /` (index binds, GPU devices). */
  extraArgs?: readonly string[] | undefined
  /** Per-process rlimits, used only when there is no cgroup. */
  rlimits: { memoryBytes: number; pids: number; cpuSeconds: number; fileBytes: number }
  onStdout(chunk: Buffer): void
  onStderr(chunk: Buffer): void
}

export type BwrapExit = { code: number | null; signal: NodeJS.Signals | null }

export type LaunchBwrapReturnType = {
  kill(): void
  exited: Promise<BwrapExit>
  /** After exit: bwrap's (or the launcher's) message when it failed before the command ran (a host failure), else null. */
  startFailure(exit: BwrapExit): string | null
}

const startFailurePrefixes = ['bwrap: ', 'sandrun-exec: ']

/**
 * Watches the first stderr bytes of a sandbox process: a start-up failure (bwrap's or
 * sandrun-exec's message, exit 1 or 125) tells itself from the job's own output that way.
 */
export function createStartFailureDetector(): { onStderr(chunk: Buffer): void; startFailure(exit: BwrapExit): string | null } {
  let head = ''
  return {
    onStderr(chunk) {
      if (head.length < 240) head += chunk.subarray(0, 240).toString('latin1')
    },
    startFailure(exit) {
      if (exit.code !== 1 && exit.code !== 125) return null
      if (!startFailurePrefixes.some((prefix) => head.startsWith(prefix))) return null
      return head.split('\n')[0]!.slice(0, 200)
    },
  }
}

/** bwrap reports `{"child-pid": N}` on the info fd once it has cloned the namespace child. */
function readChildPid(stream: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = ''
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8')
      const match = /"child-pid":\s*(\d+)/.exec(text)
      if (match) {
        cleanup()
        resolve(Number(match[1]))
      }
    }
    const onEnd = () => {
      cleanup()
      reject(new SandboxError('SANDBOX_FAILED', 'The sandbox failed to start.'))
    }
    const cleanup = () => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onEnd)
    }
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', onEnd)
  })
}

/** Resolves once the process runs inside the cgroup (v2 without clone3: after the block-fd handshake). */
export async function launchBwrap(runtime: LaunchBwrapRuntime, parameters: LaunchBwrapParameters): Promise<LaunchBwrapReturnType> {
  const { cgroup, rlimits } = parameters
  // A spawner that died (it should not) is bypassed: jobs keep running, just with costlier starts.
  const spawnerAlive = runtime.spawner?.alive === true
  // v1 with a spawner: the spawner (the service's user, never the job's: the cgroup's files are not
  // the job's to write) joins the cgroup and forks the process inside it (fast, see JobCgroup).
  // v2: the native launcher clones bwrap into the cgroup (clone3). Otherwise bwrap's namespace
  // child waits on --block-fd until the service has moved it.
  const selfJoin = spawnerAlive && cgroup?.selfJoinFiles && parameters.user ? cgroup.selfJoinFiles : null
  const cloneInto = cgroup?.cloneIntoDir && runtime.cloneIntoCgroup && spawnerAlive && runtime.spawner?.kind === 'native' ? cgroup.cloneIntoDir : null
  const handshake = cgroup !== undefined && !selfJoin && !cloneInto
  const viaSpawner = spawnerAlive && !handshake
  // One open file description per process: bwrap reads the program from the fd's current offset.
  // (The spawner opens its own.)
  let seccompFd = runtime.seccompPath && !viaSpawner ? openSync(runtime.seccompPath, 'r') : undefined
  try {
    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe']
    const fds: { seccompFd?: number; infoFd?: number; blockFd?: number } = {}
    if (runtime.seccompPath) fds.seccompFd = stdio.push(seccompFd ?? 'ignore') - 1
    if (handshake) {
      fds.infoFd = stdio.push('pipe') - 1
      fds.blockFd = stdio.push('pipe') - 1
    }
    const args = bwrapArgs({
      etcDir: runtime.etcDir,
      devDir: runtime.devDir,
      workDir: parameters.workDir,
      tmpBytes: parameters.tmpBytes,
      command: parameters.command,
      extraArgs: parameters.extraArgs,
      insideUser: parameters.user ? runtime.sandboxUser : undefined,
      ...fds,
    })

    // The arguments travel through a pipe (--args), not argv: the job can read its pid 1's
    // cmdline, and argv would show host paths (and, on the host, job arguments in `ps`).
    // bwrap takes options from the fd but the command from argv; the command holds no host path.
    const argsFd = stdio.push('pipe') - 1
    const separator = args.indexOf('--')
    const commandLine = ['--args', String(argsFd), ...args.slice(separator)]
    let file = runtime.bwrapPath
    if (!cgroup && runtime.prlimitPath) {
      // Without cgroups, rlimits are the fallback. RLIMIT_NPROC counts every process of the uid,
      // so concurrent jobs share it; /health reports this weaker isolation.
      commandLine.unshift(
        `--data=${rlimits.memoryBytes}`,
        `--nproc=${rlimits.pids}`,
        `--cpu=${rlimits.cpuSeconds}:${rlimits.cpuSeconds + 1}`,
        `--fsize=${rlimits.fileBytes}`,
        '--',
        runtime.bwrapPath,
      )
      file = runtime.prlimitPath
    }
    const { onStderr: watchStderr, startFailure } = createStartFailureDetector()
    const onStderr = (chunk: Buffer) => {
      watchStderr(chunk)
      parameters.onStderr(chunk)
    }
    const argsData = Buffer.from(`${args.slice(0, separator).join('\0')}\0`)

    if (runtime.spawner && viaSpawner) {
      // Everything this process must do is done before the start: hand it to the spawner.
      const extraFds: ExtraFd[] = []
      if (runtime.seccompPath) extraFds.push({ kind: 'file', path: runtime.seccompPath })
      extraFds.push({ kind: 'data', data: argsData })
      const started = runtime.spawner.spawn({
        file,
        args: commandLine,
        env: parameters.env,
        uid: parameters.user?.uid,
        gid: parameters.user?.gid,
        extraFds,
        joinFiles: selfJoin ?? undefined,
        cgroupDir: cloneInto ?? undefined,
        onStdout: parameters.onStdout,
        onStderr,
      })
      // No wait for the pid: a failed start rejects `exited`, and kill() works by request id.
      return { kill: started.kill, exited: started.exited, startFailure }
    }

    const child = spawn(file, commandLine, { stdio, env: parameters.env, ...(parameters.user ?? {}) })
    if (seccompFd !== undefined) {
      closeSync(seccompFd)
      seccompFd = undefined
    }
    const argsStream = child.stdio[argsFd] as Writable
    argsStream.on('error', () => {})
    argsStream.end(argsData)
    child.stdout!.on('data', parameters.onStdout)
    child.stderr!.on('data', onStderr)
    const exited = new Promise<BwrapExit>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }))
    })

    if (cgroup && fds.infoFd !== undefined && fds.blockFd !== undefined) {
      const infoStream = child.stdio[fds.infoFd] as Readable
      infoStream.on('error', () => {})
      // The namespace child waits on the block fd until it is inside the job's cgroup, so no job
      // code runs outside the limits (adding it after the start would race a fork bomb).
      try {
        const childPid = await Promise.race([
          readChildPid(infoStream),
          exited.then(() => Promise.reject(new SandboxError('SANDBOX_FAILED', 'The sandbox exited during start-up.'))),
        ])
        cgroup.addProcess(child.pid!)
        cgroup.addProcess(childPid)
        const block = child.stdio[fds.blockFd] as Writable
        // bwrap reads exactly one byte and closes its end; a reset afterwards is expected.
        block.on('error', () => {})
        block.end('1')
      } catch (error) {
        child.kill('SIGKILL')
        await cgroup.killAll()
        await exited.catch(() => {})
        throw error
      }
    }
    return { kill: () => child.kill('SIGKILL'), exited, startFailure }
  } finally {
    if (seccompFd !== undefined) closeSync(seccompFd)
  }
}
