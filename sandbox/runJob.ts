// Runs one job: workspace, bundle extraction, cgroup, the install steps its requirements need and
// then the entrypoint (each a bwrap process with seccomp in the job's cgroup), live output, limits
// (wall timeout, CPU seconds, memory, pids), output collection, and cleanup of everything it
// created. Job failures (non-zero exit, failed install, timeout, oom…) are results; only bad input
// and host failures throw.
import { randomBytes } from 'node:crypto'
import { lstatSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { JobAdmissionHost } from './admitJob.ts'
import type { JobUsers } from './claimJobUsers.ts'
import { extractBundle } from './bundle/extractBundle.ts'
import type { CgroupBackend, JobCgroup } from './cgroups/types.ts'
import { SandboxError } from './errors.ts'
import { jobSetup, type PrepareStep } from './jobSetup.ts'
import { launchBwrap, type BwrapExit, type LaunchBwrapRuntime } from './launchBwrap.ts'
import { collectOutputs } from './outputs/collectOutputs.ts'
import { snapshotTree } from './outputs/snapshotTree.ts'
import { createOutputCapture } from './outputCapture.ts'
import type { InterpreterInfo, JobUsage, RunJobParameters, SandboxLimits } from './sandbox.ts'
import type { InterpreterName, OutputStream, RunJobResult, Termination } from './types.ts'
import type { WarmPool, WarmSandbox } from './warmPool.ts'
import type { Workspace, WorkspacePool } from './workspacePool.ts'

/** Everything `createSandbox` sets up once and every job shares. */
export type SandboxRuntime = JobAdmissionHost & LaunchBwrapRuntime & {
  /** The host uids jobs run as, one per job (the service is root); absent: jobs run as the service's user. */
  jobUsers?: JobUsers | undefined
  cgroups: CgroupBackend | null
  workspaces: WorkspacePool
  interpreters: ReadonlyMap<InterpreterName, InterpreterInfo>
  limits: SandboxLimits
  /** How often the CPU-seconds budget is checked. */
  cpuPollMs: number
  /** How often a running job's usage is reported (RunJobParameters.onUsage). */
  usagePollMs: number
  /** Cleanups of finished jobs still running (cgroup removal, workspace emptying); close() awaits them. */
  pendingCleanups: Set<Promise<void>>
  /** Pre-started sandboxes for jobs of the default shape (see warmPool.ts); absent where unsupported. */
  warmPool?: WarmPool | undefined
  /** Jobs started in a pre-started sandbox. */
  warmStarts: number
}

const mib = 1024 * 1024

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

function terminationFromExit(code: number | null, signal: NodeJS.Signals | null): { exitCode: number | null; termination: Termination } {
  if (code === null) {
    const number = signal ? (os.constants.signals[signal] ?? 0) : 0
    return { exitCode: null, termination: `signaled:${number}` }
  }
  // bwrap reports a child killed by signal N as 128 + N, like a shell does.
  if (code > 128 && code <= 128 + 64) return { exitCode: null, termination: `signaled:${code - 128}` }
  return { exitCode: code, termination: 'exited' }
}

export async function runJob(runtime: SandboxRuntime, parameters: RunJobParameters): Promise<RunJobResult> {
  const { manifest, bundle, outputDir, signal, onOutput, onStart, onUsage, command } = parameters
  const limits: SandboxLimits = { ...runtime.limits, ...parameters.limits }

  const interpreter = runtime.interpreters.get(manifest.interpreter)
  if (!command && !interpreter?.available) {
    throw new SandboxError('INTERPRETER_MISSING', `The interpreter "${manifest.interpreter}" is not installed on this host.`, {
      details: `Installed here: ${[...runtime.interpreters.values()].filter((i) => i.available).map((i) => i.name).join(', ')}. GET /environments lists them.`,
    })
  }
  if (signal?.aborted) throw new SandboxError('SANDBOX_FAILED', 'The job was cancelled before it started.')

  // A pre-started sandbox fits a job with nothing to install, no devices and the default sizes.
  const defaultShape =
    manifest.requirements === null &&
    manifest.gpu === null &&
    limits.workBytes === runtime.limits.workBytes &&
    limits.tmpBytes === runtime.limits.tmpBytes &&
    limits.pids === runtime.limits.pids
  let warm: WarmSandbox | undefined = defaultShape ? runtime.warmPool?.take() : undefined
  // A host uid of the job's own; it goes back to the pool with the workspace, once nothing of the job is left.
  const user = warm ? warm.user : runtime.jobUsers?.take()
  let workspace: Workspace
  try {
    workspace = warm?.workspace ?? (await runtime.workspaces.acquire(limits.workBytes, user))
  } catch (error) {
    if (user) runtime.jobUsers?.give(user)
    throw error
  }
  let cgroup: JobCgroup | undefined = warm?.cgroup
  const timers: NodeJS.Timeout[] = []
  let onAbort: (() => void) | undefined
  // What the job costs the host, reported as it runs (the clock starts with its first process).
  const usage = { outputBytes: 0, inflated: { inflatedBytes: 0 }, held: false, measuring: false }
  const usageNow = (): JobUsage => ({
    cpuSeconds: usage.measuring ? (cgroup?.cpuSeconds() ?? 0) : 0,
    outputBytes: usage.outputBytes,
    inflatedBytes: usage.inflated.inflatedBytes,
    held: usage.held,
  })
  try {
    await extractBundle({ bundle, targetDir: workspace.dir, owner: user, meter: usage.inflated })
    if (!command) checkEntrypoint(workspace.dir, manifest.entrypoint)
    const setup = jobSetup({ host: runtime, manifest, workDir: workspace.dir })
    // With install steps the baseline comes after them, or installed packages would be outputs.
    let baseline = manifest.outputs.length === 0 && setup.prepare.length === 0 ? await snapshotTree(workspace.dir) : undefined

    if (warm && (setup.prepare.length > 0 || setup.bwrapArgs.length > 0)) {
      await warm.discard()
      warm = undefined
    }
    if (cgroup && !warm) cgroup.startAccounting?.(manifest.memory_mb * mib)
    cgroup ??= runtime.cgroups?.create(
      `job-${randomBytes(8).toString('hex')}`,
      { memoryBytes: manifest.memory_mb * mib, pids: limits.pids, cpuCores: 1 },
      runtime.spawner?.pids,
    )
    const jobCgroup = cgroup

    const stdout = createOutputCapture(limits.outputCaptureBytes)
    const stderr = createOutputCapture(limits.outputCaptureBytes)
    const write = (stream: OutputStream, chunk: Buffer) => {
      usage.outputBytes += chunk.length
      ;(stream === 'stdout' ? stdout : stderr).push(chunk)
      onOutput?.(stream, chunk)
    }
    const announce = (line: string) => write('stderr', Buffer.from(`[sandrun] ${line}\n`))

    // One kill path for every process of the job: the timeout and the CPU budget cover the install
    // steps and the entrypoint together, as the cgroup's accounting does.
    let killReason: Termination | undefined
    let current: { kill(): void } | undefined
    const kill = (reason: Termination) => {
      const first = killReason === undefined
      killReason ??= reason
      current?.kill()
      void jobCgroup?.killAll()
      // A start in flight can still add a process after this sweep (bwrap's namespace child,
      // cloned just before its parent was killed, outlives it): sweep until the step has exited.
      if (first && jobCgroup) timers.push(setInterval(() => void jobCgroup.killAll(), 25))
    }
    onAbort = () => kill('cancelled')
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) kill('cancelled')

    let started: number | undefined
    // The client's answer to each report decides whether the job runs or is held (its quota).
    const report = () => {
      const verdict = onUsage?.(usageNow())
      if ((verdict === 'hold') === usage.held || !jobCgroup) return
      if (jobCgroup.hold(verdict === 'hold')) usage.held = verdict === 'hold'
      else if (verdict === 'hold') kill('cpu_limit')
    }
    const startClock = () => {
      onStart?.()
      usage.measuring = true
      if (onUsage) timers.push(setInterval(report, runtime.usagePollMs))
      timers.push(setTimeout(() => kill('timeout'), manifest.timeout * 1000))
      if (jobCgroup) {
        const budget = manifest.cpu_seconds
        timers.push(
          setInterval(() => {
            if (jobCgroup.cpuSeconds() > budget) kill('cpu_limit')
          }, runtime.cpuPollMs),
        )
      }
    }
    const launch = async (step: { command: string[]; env: Record<string, string>; bwrapArgs: string[] }, output: (stream: OutputStream, chunk: Buffer) => void): Promise<BwrapExit> => {
      if (killReason) return { code: null, signal: 'SIGKILL' }
      started ??= performance.now()
      const warmStart = warm?.start({ command: step.command, env: step.env, memoryBytes: manifest.memory_mb * mib, onStdout: (chunk) => output('stdout', chunk), onStderr: (chunk) => output('stderr', chunk) })
      if (warm && !warmStart) {
        await warm.discard()
        jobCgroup?.startAccounting?.(manifest.memory_mb * mib)
      }
      warm = undefined
      if (warmStart) runtime.warmStarts++
      const launched = warmStart ?? await launchBwrap(runtime, {
        cgroup: jobCgroup,
        user,
        workDir: workspace.dir,
        tmpBytes: limits.tmpBytes,
        command: step.command,
        env: step.env,
        extraArgs: step.bwrapArgs,
        rlimits: { memoryBytes: manifest.memory_mb * mib, pids: limits.pids, cpuSeconds: manifest.cpu_seconds, fileBytes: limits.workBytes },
        onStdout: (chunk) => output('stdout', chunk),
        onStderr: (chunk) => output('stderr', chunk),
      })
      current = launched
      if (timers.length === 0) startClock()
      // An abort or timeout that fired during the start-up reached no process yet.
      if (killReason) kill(killReason)
      const exit = await launched.exited
      current = undefined
      const failure = killReason ? null : launched.startFailure(exit)
      if (failure) throw new SandboxError('SANDBOX_FAILED', 'The sandbox failed to start.', { details: failure })
      return exit
    }

    let failedStep: { step: PrepareStep; exit: BwrapExit } | undefined
    for (const step of setup.prepare) {
      announce(step.title)
      // The installer's output goes to stderr, so the job's stdout is the entrypoint's alone.
      const exit = await launch(step, (_stream, chunk) => write('stderr', chunk))
      if (killReason || exit.code !== 0) {
        failedStep = { step, exit }
        break
      }
      announce(step.done)
    }
    let exit: BwrapExit
    if (failedStep) {
      exit = failedStep.exit
    } else {
      if (setup.prepare.length > 0 && manifest.outputs.length === 0) baseline = await snapshotTree(workspace.dir)
      exit = await launch(
        { command: command ?? [interpreter!.path, `/work/${manifest.entrypoint}`, ...manifest.args], env: setup.env, bwrapArgs: setup.bwrapArgs },
        write,
      )
    }
    for (const timer of timers) clearTimeout(timer)
    const wallTimeMs = started === undefined ? 0 : Math.round((performance.now() - started) * 1000) / 1000
    await cgroup?.killAll()
    const stats = cgroup?.stats()

    let { exitCode, termination } = terminationFromExit(exit.code, exit.signal)
    if (killReason) {
      termination = killReason
      exitCode = null
    } else if (stats?.oomKilled) {
      termination = 'oom'
    } else if (!cgroup && termination === 'signaled:24') {
      termination = 'cpu_limit' // SIGXCPU from RLIMIT_CPU
    }

    // A failed step ends the job: it did not run, so there is nothing to collect.
    if (failedStep) announce(`${failedStep.step.title} failed (${termination === 'exited' ? `exit code ${exitCode}` : termination}); the job did not run`)
    const outputs = failedStep
      ? { files: [], truncated: null }
      : await collectOutputs({
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
      stderr: stderr.buffer(),
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      outputs: outputs.files,
      outputsTruncated: outputs.truncated !== null,
    }
  } finally {
    for (const timer of timers) clearTimeout(timer)
    if (onAbort) signal?.removeEventListener('abort', onAbort)
    // Everything the job used, whether it completed, failed or was cancelled (its cgroup is still there).
    try {
      usage.held = false
      onUsage?.(usageNow())
    } catch {
      // the caller's accounting must not stop the cleanup
    }
    // Taken but never started (bad bundle, cancelled): stop it before its cgroup goes.
    await warm?.discard()
    // Every process is gone and the outputs are copied: the caller need not wait for the cgroup
    // removal and the workspace emptying (close() does). A job after this one takes a spare workspace.
    // Neither step may reject: nobody awaits this promise but close(), and a rejection here would be
    // unhandled (the workspace pool retries a removal that fails).
    const cleanup = (async () => {
      await cgroup?.destroy().catch(() => {})
      await runtime.workspaces.release(workspace)
      if (user) runtime.jobUsers?.give(user)
    })().catch(() => {})
    runtime.pendingCleanups.add(cleanup)
    void cleanup.finally(() => runtime.pendingCleanups.delete(cleanup))
  }
}
