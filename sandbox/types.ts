// Shared types of the sandbox library: the normalized job manifest, the run parameters and the
// result of one run. Other modules (gateway, worker, verifier) build on these shapes.

/** Interpreters the sandbox knows; which ones a host actually has is found at start-up. */
export type InterpreterName = 'python3' | 'node' | 'bash' | 'sh' | 'ruby' | 'Rscript' | 'perl' | 'php'

export type GpuRequirement = {
  required: boolean
  min_vram_gb?: number | undefined
  cuda_version?: string | undefined
  compute_capability?: string | undefined
}

/**
 * A manifest after validation with every default filled in (see manifest.ts). This normalized form
 * is what the spec hash covers, so two workers given the same job agree on every field.
 */
export type Manifest = {
  entrypoint: string
  interpreter: InterpreterName
  environment: string
  args: string[]
  env: Record<string, string>
  /** Glob patterns relative to /work; empty = every new or changed file under /work. */
  outputs: string[]
  requirements: string | null
  /** Wall-clock limit in seconds. */
  timeout: number
  memory_mb: number
  cpu_seconds: number
  gpu: GpuRequirement | null
  /** Market only. */
  replicas: number
  quorum: number | null
  reward_wei: string | null
}

export type Termination = 'exited' | `signaled:${number}` | 'timeout' | 'oom' | 'cpu_limit' | 'cancelled'

export type OutputStream = 'stdout' | 'stderr'

export type OutputFile = {
  /** Path relative to /work, forward slashes. */
  path: string
  sizeBytes: number
  sha256: string
  /** Where the collected copy lives on the host (inside `outputDir`). Never shown to users. */
  hostPath: string
}

export type RunJobResult = {
  /** Exit code of the entrypoint; null when it was killed by a signal. */
  exitCode: number | null
  termination: Termination
  cpuSeconds: number
  memoryPeakBytes: number
  wallTimeMs: number
  stdout: Buffer
  stderr: Buffer
  stdoutTruncated: boolean
  stderrTruncated: boolean
  outputs: OutputFile[]
  /** A cap (file count or bytes) stopped output collection; later files (in path order) are missing. */
  outputsTruncated: boolean
}
