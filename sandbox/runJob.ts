// Runs one job, as a list of steps (the model: nsjail's containProc()): check the interpreter,
// claim a place (warm: a pre-started sandbox; cold: a workspace), extract the bundle, plan the
// set-up, give it a cgroup, start the clock and the kill path, run the install steps and then the
// entrypoint (each a bwrap process with seccomp in the job's cgroup), settle the termination,
// collect the outputs, and release everything it took. Job failures (non-zero exit, failed install,
// timeout, oom…) are results; only bad input and host failures throw.
import { randomBytes } from 'node:crypto'
import { lstatSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { extractBundle } from './bundle/extractBundle.ts'
import type { JobCgroup } from './cgroups/types.ts'
import { claimJobPlace, type JobPlace } from './claimJobPlace.ts'
import { createJobControl, type JobControl } from './createJobControl.ts'
import { SandboxError } from './errors.ts'
import { jobSetup, type PrepareStep } from './jobSetup.ts'
import { launchBwrap, type BwrapExit, type LaunchBwrapReturnType } from './launchBwrap.ts'
import { createOutputCapture } from './outputCapture.ts'
import { collectOutputs } from './outputs/collectOutputs.ts'
import { snapshotTree } from './outputs/snapshotTree.ts'
import type { InterpreterInfo, JobUsage, OutputKeeper, RunJobParameters, SandboxLimits } from './sandbox.ts'
import type { SandboxRuntime } from './sandboxRuntime.ts'
import type { Manifest, OutputStream, RunJobResult, Termination } from './types.ts'

export type { SandboxRuntime }

const mib = 1024 * 1024

type Step = { command: string[]; env: Record<string, string>; bwrapArgs: string[] }
type Output = (stream: OutputStream, chunk: Buffer) => void

export async function runJob(runtime: SandboxRuntime, parameters: RunJobParameters): Promise<RunJobResult> {
  const { manifest, bundle, outputDir, signal, onOutput, output, onStart, onUsage, onReporter, onExit, cpuWeight, command } = parameters
  const limits: SandboxLimits = { ...runtime.limits, ...parameters.limits }
  const interpreter = command ? undefined : requireInterpreter(runtime, manifest)
  if (signal?.aborted) throw new SandboxError('SANDBOX_FAILED', 'The job was cancelled before it started.')

  const place = await claimJobPlace(runtime, manifest, limits)
  // What the job costs the host, reported as it runs (the clock starts with its first process).
  const usage = { outputBytes: 0, inflated: { inflatedBytes: 0 }, held: false, measuring: false }
  const usageNow = (): JobUsage => ({
    cpuSeconds: usage.measuring ? (place.cgroup?.cpuSeconds() ?? 0) : 0,
    outputBytes: usage.outputBytes,
    inflatedBytes: usage.inflated.inflatedBytes,
    held: usage.held,
  })
  let control: JobControl | undefined
  try {
    await extractBundle({ bundle, targetDir: place.workspace.dir, owner: place.user, meter: usage.inflated })
    if (!command) checkEntrypoint(place.workspace.dir, manifest.entrypoint)
    const setup = jobSetup({ host: runtime, manifest, workDir: place.workspace.dir })
    // With install steps the baseline comes after them, or installed packages would be outputs.
    let baseline = manifest.outputs.length === 0 && setup.prepare.length === 0 ? await snapshotTree(place.workspace.dir) : undefined
    await fitWarmSandbox(place, setup.prepare.length > 0 || setup.bwrapArgs.length > 0)
    const cgroup = jobCgroup(runtime, place, manifest, limits)

    const { kept, write, announce } = jobOutput(limits, usage, onOutput, output)
    const jobControl = createJobControl({ runtime, manifest, cgroup, signal, onStart, onUsage, onReporter, cpuWeight, usage: usageNow, meter: usage })
    control = jobControl
    let started: number | undefined
    const launch = async (step: Step, output: Output): Promise<BwrapExit> => {
      if (jobControl.killReason) return { code: null, signal: 'SIGKILL' }
      started ??= performance.now()
      const launched = (await startInWarmSandbox(runtime, place, manifest, step, output)) ?? (await startColdSandbox(runtime, place, cgroup, manifest, limits, step, output))
      return awaitStep(jobControl, launched)
    }

    const failedStep = await runInstallSteps(setup.prepare, launch, jobControl, write, announce)
    // The entrypoint, unless a step failed.
    let exit: BwrapExit
    if (failedStep) {
      exit = failedStep.exit
    } else {
      if (setup.prepare.length > 0 && manifest.outputs.length === 0) baseline = await snapshotTree(place.workspace.dir)
      exit = await launch({ command: command ?? [interpreter!.path, `/work/${manifest.entrypoint}`, ...manifest.args], env: setup.env, bwrapArgs: setup.bwrapArgs }, write)
    }

    jobControl.stopTimers()
    const wallTimeMs = started === undefined ? 0 : Math.round((performance.now() - started) * 1000) / 1000
    await cgroup?.killAll()
    const stats = cgroup?.stats()
    onExit?.()
    const { exitCode, termination } = settleTermination(exit, jobControl.killReason, stats?.oomKilled === true, cgroup !== undefined)
    // A failed step ends the job: it did not run, so there is nothing to collect.
    if (failedStep) announce(`${failedStep.step.title} failed (${termination === 'exited' ? `exit code ${exitCode}` : termination}); the job did not run`)
    const outputs = failedStep
      ? { files: [], truncated: null }
      : await collectOutputs({ workDir: place.workspace.dir, patterns: manifest.outputs, baseline, outputDir, maxFiles: limits.maxOutputFiles, maxTotalBytes: limits.maxOutputBytes })

    return {
      exitCode,
      termination,
      cpuSeconds: stats?.cpuSeconds ?? 0,
      memoryPeakBytes: stats?.memoryPeakBytes ?? 0,
      wallTimeMs,
      ...kept.snapshot(),
      outputs: outputs.files,
      outputsTruncated: outputs.truncated !== null,
    }
  } finally {
    control?.close()
    // Everything the job used, whether it completed, failed or was cancelled (its cgroup is still there).
    try {
      usage.held = false
      onUsage?.(usageNow())
    } catch {
      // the caller's accounting must not stop the cleanup
    }
    await releaseJobPlace(runtime, place)
  }
}

/** The job's stdout and stderr, each kept up to the cap (by the caller's keeper, or captured here), counted and passed on live. */
function jobOutput(limits: SandboxLimits, usage: { outputBytes: number }, onOutput: RunJobParameters['onOutput'], output: RunJobParameters['output']) {
  const kept = output ?? captureBoth(limits.outputCaptureBytes)
  const write: Output = (stream, chunk) => {
    usage.outputBytes += chunk.length
    kept.append(stream, chunk)
    onOutput?.(stream, chunk)
  }
  const announce = (line: string) => write('stderr', Buffer.from(`[sandrun] ${line}\n`))
  return { kept, write, announce }
}

function captureBoth(cap: number): OutputKeeper {
  const stdout = createOutputCapture(cap)
  const stderr = createOutputCapture(cap)
  return {
    append: (stream, chunk) => (stream === 'stdout' ? stdout : stderr).push(chunk),
    snapshot: () => ({ stdout: stdout.buffer(), stderr: stderr.buffer(), stdoutTruncated: stdout.truncated, stderrTruncated: stderr.truncated }),
  }
}

/** The install steps in order, until one fails or the job is stopped; the installer's output goes to stderr, so stdout is the entrypoint's alone. */
async function runInstallSteps(
  steps: readonly PrepareStep[],
  launch: (step: Step, output: Output) => Promise<BwrapExit>,
  control: JobControl,
  write: Output,
  announce: (line: string) => void,
): Promise<{ step: PrepareStep; exit: BwrapExit } | undefined> {
  for (const step of steps) {
    announce(step.title)
    const exit = await launch(step, (_stream, chunk) => write('stderr', chunk))
    if (control.killReason || exit.code !== 0) return { step, exit }
    announce(step.done)
  }
  return undefined
}

function requireInterpreter(runtime: SandboxRuntime, manifest: Manifest): InterpreterInfo {
  const interpreter = runtime.interpreters.get(manifest.interpreter)
  if (interpreter?.available) return interpreter
  throw new SandboxError('INTERPRETER_MISSING', `The interpreter "${manifest.interpreter}" is not installed on this host.`, {
    details: `Installed here: ${[...runtime.interpreters.values()].filter((i) => i.available).map((i) => i.name).join(', ')}. GET /environments lists them.`,
  })
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

/** Warm path: a pre-started sandbox runs one plain command; a job with install steps or extra bwrap arguments needs its own. */
async function fitWarmSandbox(place: JobPlace, needsOwnBwrap: boolean): Promise<void> {
  if (!place.warm || !needsOwnBwrap) return
  await place.warm.discard()
  place.warm = undefined
}

/** The job's cgroup: the warm sandbox's, with the job's memory limit and fresh accounting, or a new one. */
function jobCgroup(runtime: SandboxRuntime, place: JobPlace, manifest: Manifest, limits: SandboxLimits): JobCgroup | undefined {
  if (place.cgroup && !place.warm) place.cgroup.startAccounting?.(manifest.memory_mb * mib)
  place.cgroup ??= runtime.cgroups?.create(`job-${randomBytes(8).toString('hex')}`, { memoryBytes: manifest.memory_mb * mib, pids: limits.pids, cpuCores: 1 }, runtime.spawner?.pids)
  return place.cgroup
}

/**
 * Warm path: sends the command to the pre-started sandbox (used once, for the first step). When the
 * command line does not fit, the sandbox is stopped and undefined returned: the step starts cold in
 * the same workspace and cgroup.
 */
async function startInWarmSandbox(runtime: SandboxRuntime, place: JobPlace, manifest: Manifest, step: Step, output: Output): Promise<LaunchBwrapReturnType | undefined> {
  const warm = place.warm
  if (!warm) return undefined
  place.warm = undefined
  const started = warm.start({ command: step.command, env: step.env, memoryBytes: manifest.memory_mb * mib, onStdout: (chunk) => output('stdout', chunk), onStderr: (chunk) => output('stderr', chunk) })
  if (!started) {
    await warm.discard()
    place.cgroup?.startAccounting?.(manifest.memory_mb * mib)
    return undefined
  }
  runtime.warmStarts++
  return started
}

/** Cold path: a bwrap of the step's own, with seccomp, in the job's cgroup and workspace. */
function startColdSandbox(runtime: SandboxRuntime, place: JobPlace, cgroup: JobCgroup | undefined, manifest: Manifest, limits: SandboxLimits, step: Step, output: Output): Promise<LaunchBwrapReturnType> {
  return launchBwrap(runtime, {
    cgroup,
    user: place.user,
    workDir: place.workspace.dir,
    tmpBytes: limits.tmpBytes,
    command: step.command,
    env: step.env,
    extraArgs: step.bwrapArgs,
    rlimits: { memoryBytes: manifest.memory_mb * mib, pids: limits.pids, cpuSeconds: manifest.cpu_seconds, fileBytes: limits.workBytes },
    onStdout: (chunk) => output('stdout', chunk),
    onStderr: (chunk) => output('stderr', chunk),
  })
}

/** Runs a started step to its exit under the job's clock and kill path. */
async function awaitStep(control: JobControl, launched: LaunchBwrapReturnType): Promise<BwrapExit> {
  control.running(launched)
  control.started()
  // An abort or timeout that fired during the start-up reached no process yet.
  if (control.killReason) control.kill(control.killReason)
  const exit = await launched.exited
  control.running(undefined)
  const failure = control.killReason ? null : launched.startFailure(exit)
  if (failure) throw new SandboxError('SANDBOX_FAILED', 'The sandbox failed to start.', { details: failure })
  return exit
}

/** The result's exit code and termination: a kill's reason first, then the cgroup's oom, then how the process ended. */
function settleTermination(exit: BwrapExit, killReason: Termination | undefined, oomKilled: boolean, hasCgroup: boolean): { exitCode: number | null; termination: Termination } {
  if (killReason) return { exitCode: null, termination: killReason }
  const ended = terminationFromExit(exit.code, exit.signal)
  if (oomKilled) return { exitCode: ended.exitCode, termination: 'oom' }
  if (!hasCgroup && ended.termination === 'signaled:24') return { exitCode: ended.exitCode, termination: 'cpu_limit' } // SIGXCPU from RLIMIT_CPU
  return ended
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

/**
 * Gives back what the job took. Every process is gone and the outputs are copied: the caller need
 * not wait for the cgroup removal and the workspace emptying (close() does), and a job after this
 * one takes a spare workspace. Neither step may reject: nobody awaits this promise but close(), and
 * a rejection would be unhandled (the workspace pool retries a removal that fails).
 */
async function releaseJobPlace(runtime: SandboxRuntime, place: JobPlace): Promise<void> {
  // Taken but never started (bad bundle, cancelled): stop it before its cgroup goes.
  await place.warm?.discard()
  const cleanup = (async () => {
    await place.cgroup?.destroy().catch(() => {})
    await runtime.workspaces.release(place.workspace)
    if (place.user) runtime.jobUsers?.give(place.user)
  })().catch(() => {})
  runtime.pendingCleanups.add(cleanup)
  void cleanup.finally(() => runtime.pendingCleanups.delete(cleanup))
}
