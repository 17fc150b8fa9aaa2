// Decides whether this host's GPUs meet a job's `gpu` requirement, and which GPUs qualify. A
// refusal carries a message for the submitter that names what is missing and what the host has.
import type { GpuRequirement } from '../types.ts'
import type { GpuInfo } from './gpuInfo.ts'

export type MatchGpuRequirementReturnType =
  /** `gpus`: the GPUs that meet every criterion, best (most memory) first; empty for a job without a GPU need. */
  | { ok: true; gpus: GpuInfo[] }
  | { ok: false; reason: string }

const mibPerGib = 1024

/** Compares dotted versions numerically (`12.10` > `12.9`); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number)
  const right = b.split('.').map(Number)
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0)
    if (difference !== 0) return Math.sign(difference)
  }
  return 0
}

function gib(mib: number): string {
  const value = mib / mibPerGib
  return `${Number.isInteger(value) ? value : value.toFixed(1)} GB`
}

function describe(gpu: GpuInfo): string {
  const parts = [gpu.memoryMiB === null ? 'memory unknown' : gib(gpu.memoryMiB)]
  if (gpu.computeCapability) parts.push(`compute capability ${gpu.computeCapability}`)
  if (gpu.cudaVersion) parts.push(`CUDA ${gpu.cudaVersion}`)
  return `${gpu.name} (${parts.join(', ')})`
}

type Criterion = { test: (gpu: GpuInfo) => boolean; refusal: (gpus: GpuInfo[]) => string }

function criteria(requirement: GpuRequirement): Criterion[] {
  const list: Criterion[] = []
  const vram = requirement.min_vram_gb
  if (vram !== undefined) {
    list.push({
      test: (gpu) => gpu.memoryMiB !== null && gpu.memoryMiB >= vram * mibPerGib,
      refusal: (gpus) => {
        const known = gpus.map((g) => g.memoryMiB).filter((m): m is number => m !== null)
        return known.length === 0
          ? `This job needs a GPU with ${vram} GB of memory; this host cannot tell its GPUs' memory (no nvidia-smi).`
          : `This job needs a GPU with ${vram} GB of memory; the largest GPU here has ${gib(Math.max(...known))}.`
      },
    })
  }
  const cuda = requirement.cuda_version
  if (cuda !== undefined) {
    list.push({
      test: (gpu) => gpu.cudaVersion !== null && compareVersions(gpu.cudaVersion, cuda) >= 0,
      refusal: (gpus) => {
        const versions = gpus.map((g) => g.cudaVersion).filter((v): v is string => v !== null)
        return versions.length === 0
          ? `This job needs CUDA ${cuda}; this host cannot tell which CUDA version its driver supports.`
          : `This job needs CUDA ${cuda}; the driver here supports CUDA up to ${versions.sort(compareVersions).at(-1)}.`
      },
    })
  }
  const capability = requirement.compute_capability
  if (capability !== undefined) {
    list.push({
      test: (gpu) => gpu.computeCapability !== null && compareVersions(gpu.computeCapability, capability) >= 0,
      refusal: (gpus) => {
        const known = gpus.map((g) => g.computeCapability).filter((v): v is string => v !== null)
        return known.length === 0
          ? `This job needs compute capability ${capability}; this host cannot tell its GPUs' compute capability.`
          : `This job needs compute capability ${capability}; the best GPU here has ${known.sort(compareVersions).at(-1)}.`
      },
    })
  }
  return list
}

export function matchGpuRequirement(requirement: GpuRequirement | null, gpus: readonly GpuInfo[]): MatchGpuRequirementReturnType {
  const list = requirement ? criteria(requirement) : []
  const matching = gpus
    .filter((gpu) => list.every((c) => c.test(gpu)))
    .sort((a, b) => (b.memoryMiB ?? 0) - (a.memoryMiB ?? 0) || a.index - b.index)
  // `required: false` means "use a GPU if one fits, run anyway otherwise".
  if (!requirement?.required) return { ok: true, gpus: requirement ? matching : [] }
  if (gpus.length === 0) return { ok: false, reason: 'This job needs a GPU and this host has none.' }
  if (matching.length > 0) return { ok: true, gpus: matching }
  const unmet = list.find((c) => !gpus.some((gpu) => c.test(gpu)))
  if (unmet) return { ok: false, reason: unmet.refusal([...gpus]) }
  // Each criterion is met by some GPU, but no single GPU meets them all.
  return { ok: false, reason: `No single GPU here meets every requirement of this job; GPUs here: ${gpus.map(describe).join('; ')}.` }
}
