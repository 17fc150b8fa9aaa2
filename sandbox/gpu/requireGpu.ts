// The admission check for a job's `gpu`: throws GPU_UNAVAILABLE (a 400 in local mode) with the
// matcher's reason, or returns the GPU(s) to pass into the sandbox.
import { SandboxError } from '../errors.ts'
import type { GpuRequirement } from '../types.ts'
import type { GpuInfo } from './gpuInfo.ts'
import { matchGpuRequirement } from './matchGpuRequirement.ts'

export type RequireGpuParameters = {
  requirement: GpuRequirement | null
  gpus: readonly GpuInfo[]
  /** How many GPUs a job gets; one keeps replicas comparable and lets a host run several GPU jobs. */
  count?: number | undefined
}

/** The GPUs to pass through; empty when the job does not use a GPU. */
export type RequireGpuReturnType = GpuInfo[]

export function requireGpu({ requirement, gpus, count = 1 }: RequireGpuParameters): RequireGpuReturnType {
  const match = matchGpuRequirement(requirement, gpus)
  if (!match.ok) {
    throw new SandboxError('GPU_UNAVAILABLE', match.reason, {
      details: 'Lower the "gpu" requirement, set "required": false to run without one, or submit to a host with a suitable GPU (GET /health lists its GPUs).',
    })
  }
  return match.gpus.slice(0, count)
}
