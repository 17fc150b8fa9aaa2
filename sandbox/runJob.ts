// Runs one job: workspace, bundle extraction, cgroup, bwrap with seccomp, live output, limits
// (wall timeout, CPU seconds, memory, pids), output collection, and cleanup of everything it
// created. Job failures (non-zero exit, timeout, oom…) are results; only bad input and host
// failures throw.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, lchownSync, lstatSync, openSync, readdirSync } from 'node:fs'
import path from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { extractBundle } from './bundle/extractBundle.ts'
import { bwrapArgs } from './bwrapArgs.ts'
import type { CgroupBackend, JobCgroup } from './cgroups/types.ts'
import { jobEnvironment } from './environment.ts'
import { SandboxError } from './errors.ts'
import { collectOutputs } from './outputs/collectOutputs.ts'
import { snapshotTree } from './outputs/snapshotTree.ts'
import { createOutputCapture } from './outputCapture.ts'
import type { InterpreterInfo, RunJobParameters, SandboxLimits } from './sandbox.ts'
import type { InterpreterName, RunJobResult, Termination } from './types.ts'
import type { WorkspacePool } from './workspacePool.ts'

/** Everything `createSandbox` sets up once and every job shares. */
export type SandboxRuntime = {
  bwrapPath: string
  /** `prlimit` binary, used for rlimits when there is no cgroup backend. */
  prlimitPath: string | null
  etcDir: string
  seccompPath: string | null
  cgroups: CgroupBackend | null
  workspaces: WorkspacePool
  interpreters: ReadonlyMap<InterpreterName, InterpreterInfo>
  /** Host uid/gid the job runs as; undefined when the service itself is not root. */
  sandboxUser: { uid: number; gid: number } | undefined
  limits: SandboxLimits
  /** How often the CPU-seconds budget is checked. */
  cpuPollMs: number
}

const mib = 1024 * 1024

function chownTree(dir: string, uid: number, gid: number): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    lchownSync(full, uid, gid)
    if (entry.isDirectory()) chownTree(full, uid, gid)
  }
}

function checkEntrypoint(workDir: string, entrypoint: string): void {
  let ok = false
  try {
    ok = lstatSync(path.join(workDir, entrypoint)).isFile()
  } catch {
    ok = false
  }
  if (!ok) {
    throw new SandboxError('ENTRYPOINT_MISSING', `The entrypoint "${entrypoint}" is not a regular file in the bundle.`, {
      details: 'Add the file to the tarball or fix the manifest\'s "entrypoint" (a path relative to the bundle root).',
    })
  }
}

/** `sh -c` script: write "0" to each of the first $1 files (moving this process in), then exec the rest. */
const joinScript =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo 0 > "$1" || { echo "sandrun-join: cannot join the job cgroup" >&2; exit 125; }; n=$((n-1)); shift; done; exec "$@"'

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

function terminationFromExit(code: number | null, signal: NodeJS.Signals | null): { exitCode: number | null; termination: Termination } {
  if (code === null) {
    const number = signal ? (({ SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 }) as Record<string, number>)[signal] ?? 0 : 0
    return { exitCode: null, termination: `signaled:${number}` }
  }
  // bwrap reports a child killed by signal N as 128 + N, like a shell does.
  if (code > 128 && code <= 128 + 64) return { exitCode: null, termination: `signaled:${code - 128}` }
  return { exitCode: code, termination: 'exited' }
}

export async function runJob(runtime: SandboxRuntime, parameters: RunJobParameters): Promise<RunJobResult> {
  const { manifest, bundle, outputDir, signal, onOutput, onStart, command } = parameters
  const limits: SandboxLimits = { ...runtime.limits, ...parameters.limits }

  const interpreter = runtime.interpreters.get(manifest.interpreter)
  if (!command && !interpreter?.available) {
    throw new SandboxError('INTERPRETER_MISSING', `The interpreter "${manifest.interpreter}" is not installed on this host.`, {
      details: `Installed here: ${[...runtime.interpreters.values()].filter((i) => i.available).map((i) => i.name).join(', ')}. GET /environments lists them.`,
    })
  }
  if (signal?.aborted) throw new SandboxError('SANDBOX_FAILED', 'The job was cancelled before it started.')

  const workspace = await runtime.workspaces.acquire(limits.workBytes)
  let cgroup: JobCgroup | undefined
  let seccompFd: number | undefined
  try {
    await extractBundle({ bundle, targetDir: workspace.dir })
    if (!command) checkEntrypoint(workspace.dir, manifest.entrypoint)
    if (runtime.sandboxUser) chownTree(workspace.dir, runtime.sandboxUser.uid, runtime.sandboxUser.gid)
    const baseline = manifest.outputs.length === 0 ? await snapshotTree(workspace.dir) : undefined

    cgroup = runtime.cgroups?.create(
      `job-${randomBytes(8).toString('hex')}`,
      { memoryBytes: manifest.memory_mb * mib, pids: limits.pids, cpuCores: 1 },
      runtime.sandboxUser,
    )
    // v1: the launcher moves itself into the cgroup before exec'ing bwrap (fast, see JobCgroup).
    // v2: bwrap's namespace child waits on --block-fd until the service has moved it.
    const selfJoin = cgroup?.selfJoinFiles && runtime.sandboxUser ? cgroup.selfJoinFiles : null
    if (runtime.seccompPath) seccompFd = openSync(runtime.seccompPath, 'r')

    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe']
    const fds: { seccompFd?: number; infoFd?: number; blockFd?: number } = {}
    if (seccompFd !== undefined) fds.seccompFd = stdio.push(seccompFd) - 1
    if (cgroup && !selfJoin) {
      fds.infoFd = stdio.push('pipe') - 1
      fds.blockFd = stdio.push('pipe') - 1
    }
    const args = bwrapArgs({
      etcDir: runtime.etcDir,
      workDir: workspace.dir,
      tmpBytes: limits.tmpBytes,
      command: command ?? [interpreter!.path, `/work/${manifest.entrypoint}`, ...manifest.args],
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
        `--data=${manifest.memory_mb * mib}`,
        `--nproc=${limits.pids}`,
        `--cpu=${manifest.cpu_seconds}:${manifest.cpu_seconds + 1}`,
        `--fsize=${limits.workBytes}`,
        '--',
        runtime.bwrapPath,
      )
      file = runtime.prlimitPath
    }
    if (selfJoin) {
      // Nothing of the job can run before this shell has joined every hierarchy: bwrap starts
      // only through its exec, after the last successful write.
      commandLine.unshift('-c', joinScript, 'sandrun-join', String(selfJoin.length), ...selfJoin, runtime.bwrapPath)
      file = '/bin/sh'
    }
    const started = performance.now()
    const child = spawn(file, commandLine, {
      stdio,
      env: jobEnvironment(manifest),
      ...(runtime.sandboxUser ?? {}),
    })
    if (seccompFd !== undefined) {
      closeSync(seccompFd)
      seccompFd = undefined
    }
    const argsStream = child.stdio[argsFd] as Writable
    argsStream.on('error', () => {})
    argsStream.end(Buffer.from(`${args.slice(0, separator).join('\0')}\0`))

    const stdout = createOutputCapture(limits.outputCaptureBytes)
    const stderr = createOutputCapture(limits.outputCaptureBytes)
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout.push(chunk)
      onOutput?.('stdout', chunk)
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr.push(chunk)
      onOutput?.('stderr', chunk)
    })

    let killReason: Termination | undefined
    const kill = (reason: Termination) => {
      killReason ??= reason
      child.kill('SIGKILL')
      void cgroup?.killAll()
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
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
        kill('cancelled')
        await exited.catch(() => {})
        throw error
      }
    }
    onStart?.()

    const timers: NodeJS.Timeout[] = []
    timers.push(setTimeout(() => kill('timeout'), manifest.timeout * 1000))
    if (cgroup) {
      const budget = manifest.cpu_seconds
      const poll = setInterval(() => {
        if (cgroup!.cpuSeconds() > budget) kill('cpu_limit')
      }, runtime.cpuPollMs)
      timers.push(poll)
    }
    const onAbort = () => kill('cancelled')
    signal?.addEventListener('abort', onAbort, { once: true })

    let exit: { code: number | null; signal: NodeJS.Signals | null }
    try {
      exit = await exited
    } finally {
      for (const timer of timers) clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const wallTimeMs = Math.round((performance.now() - started) * 1000) / 1000
    await cgroup?.killAll()
    const stats = cgroup?.stats()

    const stderrBuffer = stderr.buffer()
    const startFailure = ['bwrap: ', 'sandrun-join: '].some((prefix) => stderrBuffer.subarray(0, prefix.length).toString() === prefix)
    if (!killReason && (exit.code === 1 || exit.code === 125) && startFailure) {
      throw new SandboxError('SANDBOX_FAILED', 'The sandbox failed to start.')
    }

    let { exitCode, termination } = terminationFromExit(exit.code, exit.signal)
    if (killReason) {
      termination = killReason
      exitCode = null
    } else if (stats?.oomKilled) {
      termination = 'oom'
    } else if (!cgroup && termination === 'signaled:24') {
      termination = 'cpu_limit' // SIGXCPU from RLIMIT_CPU
    }

    const outputs = await collectOutputs({
      workDir: workspace.dir,
      patterns: manifest.outputs,
      baseline,
      outputDir,
      maxFiles: limits.maxOutputFiles,
      maxTotalBytes: limits.maxOutputBytes,
    })

    return {
      exitCode,
      termination,
      cpuSeconds: stats?.cpuSeconds ?? 0,
      memoryPeakBytes: stats?.memoryPeakBytes ?? 0,
      wallTimeMs,
      stdout: stdout.buffer(),
      stderr: stderrBuffer,
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      outputs: outputs.files,
      outputsTruncated: outputs.truncated !== null,
    }
  } finally {
    if (seccompFd !== undefined) closeSync(seccompFd)
    await cgroup?.destroy().catch(() => {})
    await runtime.workspaces.release(workspace)
  }
}
