// The sandbox facade: one object per host, created once at start-up (host detection, cgroup
// backend, seccomp program), that runs jobs. This is the only thing the rest of the system calls.
import type { EnvironmentDetection } from './environments/detectEnvironments.ts'
import type { EnvironmentTemplate } from './environments/templates.ts'
import type { GpuDetection, GpuInfo } from './gpu/gpuInfo.ts'
import type { CheckRequirementsFileReturnType } from './requirements/checkRequirementsFile.ts'
import type { InterpreterName, Manifest, OutputStream, RunJobResult } from './types.ts'

export type IsolationLevel =
  /** Namespaces + seccomp + cgroup limits (memory, pids, cpu accounting). */
  | 'full'
  /** Namespaces + seccomp, limits by rlimits only (rootless or no writable cgroup). */
  | 'rlimits'

export type InterpreterInfo = {
  name: InterpreterName
  /** Absolute path on the host (never shown to users). */
  path: string
  available: boolean
  version: string | null
}

export type HostCapabilities = {
  bwrapVersion: string | null
  userNamespaces: boolean
  seccomp: boolean
  cgroupVersion: 'v1' | 'v2' | null
  cgroupControllers: string[]
  isolation: IsolationLevel
  /** Why isolation is weaker than 'full', when it is. */
  isolationNote: string | null
  /** What the operator can do to get cgroup limits, when they are missing (paths, commands: `sandrun doctor` only). */
  cgroupRemedy: string | null
  interpreters: InterpreterInfo[]
  /** Every environment template and whether this host has it (dpkg, detected once at start-up). */
  environments: EnvironmentDetection[]
  /** NVIDIA GPUs found at start-up (device files, nvidia-smi). */
  gpus: GpuDetection
  /** Which kinds of job `requirements` this host can install (the operator configured an index). */
  packageIndexes: { pip: boolean; npm: boolean }
  /** What starts job processes: the native launcher, the Node spawner, or the service itself. */
  processLauncher: 'native' | 'node' | 'direct'
  /** Why it is not the native launcher, when it is not. */
  processLauncherNote: string | null
  /** Sandboxes kept started ahead of jobs (0 where unsupported or disabled). */
  warmSandboxes: number
}

export type SandboxLimits = {
  /** Max processes/threads in the job (cgroup pids). */
  pids: number
  /** Size of the job's /work tmpfs in bytes. */
  workBytes: number
  /** Size of the job's /tmp tmpfs in bytes. */
  tmpBytes: number
  /** Captured bytes per stream (stdout, stderr); the rest is dropped and marked truncated. */
  outputCaptureBytes: number
  /** Output files collection caps. */
  maxOutputFiles: number
  maxOutputBytes: number
}

export type OutputKeeper = {
  append(stream: OutputStream, chunk: Buffer): void
  snapshot(): { stdout: Buffer; stderr: Buffer; stdoutTruncated: boolean; stderrTruncated: boolean }
}

export type RunJobParameters = {
  manifest: Manifest
  /** The job's gzip tar bundle. */
  bundle: Uint8Array
  /** Host directory (created by the caller, empty) that receives copies of the collected output files. */
  outputDir: string
  signal?: AbortSignal | undefined
  /** Live output, in order per stream, as the job produces it (before truncation marks). */
  onOutput?: ((stream: OutputStream, chunk: Buffer) => void) | undefined
  /**
   * Keeps the job's stdout and stderr in place of runJob's own capture, and gives them back as the
   * result's (its cap must be the limits' `outputCaptureBytes`): the local mode passes the job's live
   * log, so a job's output is kept once, not twice (10 MiB a stream, copied in chunk by chunk).
   */
  output?: OutputKeeper | undefined
  /** Called once the job's process has started (the queue shows `running` from here). */
  onStart?: (() => void) | undefined
  /**
   * What the job has used so far, about once a second while it runs (from its cgroup) and once
   * more when it is over, cancelled or not. Answering `hold` holds the job (its CPU cut to 1% of a
   * core, the wall clock running on) until an answer is `run` again; where the host cannot hold a
   * job, it is stopped instead (cpu_limit). `pause` holds it the same way where the host can, and
   * lets it run on where it cannot (for a job that only gives way to others).
   */
  onUsage?: ((usage: JobUsage) => 'run' | 'hold' | 'pause') | undefined
  /**
   * Receives, once the job's clock starts (with `onUsage`), a function that makes its usage report
   * at once rather than at the next tick: the queue asks when a job arrives that may take this
   * one's slot. It does nothing once the job's processes have exited.
   */
  onReporter?: ((reportNow: () => void) => void) | undefined
  /**
   * Called once every process of the job has exited (or been killed), before its outputs are
   * collected and its workspace cleared: the job no longer needs a core, though its run is not over.
   */
  onExit?: (() => void) | undefined
  /**
   * The job's CPU weight among the jobs that compete with it for a core, from 1 (the default, the
   * full weight) down to 0.01; read before its first process starts and with each usage report.
   */
  cpuWeight?: (() => number) | undefined
  limits?: Partial<SandboxLimits> | undefined
  /**
   * Runs this argv (absolute paths inside the sandbox) instead of the manifest's interpreter and
   * entrypoint. For the service's own steps (dependency installation, benchmarks); never user input.
   */
  command?: string[] | undefined
}

/** A job's use of the host so far (cumulative). */
export type JobUsage = {
  /** CPU time of all its processes (0 without cgroups). */
  cpuSeconds: number
  /** Bytes the service read from its stdout and stderr, those beyond the capture cap included. */
  outputBytes: number
  /** Bytes the service inflated to unpack its bundle. */
  inflatedBytes: number
  /** Whether the job is being held right now. */
  held: boolean
}

export type AdmitJobParameters = {
  manifest: Manifest
  /** The text of the bundle's `requirements` file; null when the bundle has no such regular file. */
  requirementsFile?: string | null | undefined
}

/** What the job will run with on this host. */
export type AdmitJobReturnType = {
  template: EnvironmentTemplate
  /** The GPU(s) passed into the sandbox; empty for a job without a GPU. */
  gpus: GpuInfo[]
  /** What the install step will install; null without `requirements`. */
  requirements: CheckRequirementsFileReturnType | null
}

export type Sandbox = {
  readonly capabilities: HostCapabilities
  readonly limits: SandboxLimits
  /**
   * Whether this host can run the job (environment installed, GPU requirement met, requirements
   * file acceptable and an index for it). Throws a user SandboxError (ENVIRONMENT_UNKNOWN,
   * GPU_UNAVAILABLE, MANIFEST_INVALID, BUNDLE_INVALID) so a service can refuse it at submit time;
   * runJob makes the same checks.
   */
  admitJob(parameters: AdmitJobParameters): AdmitJobReturnType
  runJob(parameters: RunJobParameters): Promise<RunJobResult>
  /** Jobs started so far in a pre-started sandbox (they cannot tell themselves; the operator can). */
  warmStarts(): number
  /** Removes host resources (tmpfs pool, cgroup parent). Running jobs are killed. */
  close(): Promise<void>
}
