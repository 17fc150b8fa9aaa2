import { describe, expect, it } from 'vitest'
import { SandboxError } from '../errors.ts'
import type { GpuInfo } from './gpuInfo.ts'
import { gpuDeviceBinds } from './gpuDeviceBinds.ts'
import { compareVersions, matchGpuRequirement } from './matchGpuRequirement.ts'
import { requireGpu } from './requireGpu.ts'

function gpu(index: number, name: string, gib: number, capability: string, cuda = '12.4'): GpuInfo {
  return { index, name, memoryMiB: gib * 1024, driverVersion: '550.54.15', computeCapability: capability, cudaVersion: cuda, deviceFile: `/dev/nvidia${index}` }
}

const a10 = gpu(0, 'NVIDIA A10', 24, '8.6')
const h100 = gpu(1, 'NVIDIA H100 80GB HBM3', 80, '9.0')
const t4 = gpu(2, 'Tesla T4', 16, '7.5', '11.8')

describe('matchGpuRequirement', () => {
  it('refuses a GPU job on a host without GPUs', () => {
    expect(matchGpuRequirement({ required: true }, [])).toEqual({ ok: false, reason: 'This job needs a GPU and this host has none.' })
  })

  it('names the largest GPU when none has enough memory', () => {
    expect(matchGpuRequirement({ required: true, min_vram_gb: 40 }, [a10, t4])).toEqual({
      ok: false,
      reason: 'This job needs a GPU with 40 GB of memory; the largest GPU here has 24 GB.',
    })
  })

  it('names the newest CUDA and compute capability on offer when they fall short', () => {
    expect(matchGpuRequirement({ required: true, cuda_version: '12.2' }, [t4])).toEqual({
      ok: false,
      reason: 'This job needs CUDA 12.2; the driver here supports CUDA up to 11.8.',
    })
    expect(matchGpuRequirement({ required: true, compute_capability: '9.0' }, [a10, t4])).toEqual({
      ok: false,
      reason: 'This job needs compute capability 9.0; the best GPU here has 8.6.',
    })
  })

  it('refuses when each criterion is met by some GPU but none meets all', () => {
    const result = matchGpuRequirement({ required: true, min_vram_gb: 20, cuda_version: '12.0' }, [gpu(0, 'Big old', 32, '7.0', '11.4'), gpu(1, 'Small new', 8, '8.9', '12.4')])
    expect(result.ok).toBe(false)
    expect(!result.ok && result.reason).toContain('No single GPU here meets every requirement')
  })

  it('returns the qualifying GPUs, most memory first', () => {
    const result = matchGpuRequirement({ required: true, min_vram_gb: 16, compute_capability: '7.5' }, [t4, a10, h100])
    expect(result).toEqual({ ok: true, gpus: [h100, a10, t4] })
    expect(matchGpuRequirement({ required: true, min_vram_gb: 24 }, [t4, a10])).toEqual({ ok: true, gpus: [a10] })
  })

  it('treats unknown memory as not enough, with a message that says why', () => {
    const unknown: GpuInfo = { ...a10, memoryMiB: null }
    const result = matchGpuRequirement({ required: true, min_vram_gb: 8 }, [unknown])
    expect(!result.ok && result.reason).toContain('cannot tell')
  })

  it('runs jobs that do not need a GPU anywhere, with a fitting GPU when one exists', () => {
    expect(matchGpuRequirement(null, [])).toEqual({ ok: true, gpus: [] })
    expect(matchGpuRequirement(null, [a10])).toEqual({ ok: true, gpus: [] })
    expect(matchGpuRequirement({ required: false, min_vram_gb: 40 }, [])).toEqual({ ok: true, gpus: [] })
    expect(matchGpuRequirement({ required: false, min_vram_gb: 40 }, [a10, h100])).toEqual({ ok: true, gpus: [h100] })
  })

  it('compares versions numerically', () => {
    expect(compareVersions('12.10', '12.9')).toBe(1)
    expect(compareVersions('12', '12.0')).toBe(0)
    expect(compareVersions('8.6', '9.0')).toBe(-1)
  })
})

describe('requireGpu', () => {
  it('throws GPU_UNAVAILABLE, a user error, with the reason', () => {
    let error: unknown
    try {
      requireGpu({ requirement: { required: true, min_vram_gb: 40 }, gpus: [a10] })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(SandboxError)
    expect((error as SandboxError).code).toBe('GPU_UNAVAILABLE')
    expect((error as SandboxError).isUserError).toBe(true)
    expect((error as SandboxError).shortMessage).toBe('This job needs a GPU with 40 GB of memory; the largest GPU here has 24 GB.')
  })

  it('hands out one GPU per job by default', () => {
    expect(requireGpu({ requirement: { required: true }, gpus: [a10, h100] })).toEqual([h100])
  })
})

describe('gpuDeviceBinds', () => {
  it('binds the control devices and the chosen GPU only', () => {
    const detection = { controlDevices: ['/dev/nvidiactl', '/dev/nvidia-uvm'] }
    expect(gpuDeviceBinds({ gpus: [h100], detection })).toEqual([
      '--dev-bind', '/dev/nvidiactl', '/dev/nvidiactl',
      '--dev-bind', '/dev/nvidia-uvm', '/dev/nvidia-uvm',
      '--dev-bind', '/dev/nvidia1', '/dev/nvidia1',
    ])
    expect(gpuDeviceBinds({ gpus: [], detection })).toEqual([])
  })
})
