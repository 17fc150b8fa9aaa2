// The bwrap arguments that pass GPUs into a job's sandbox: a device bind for each chosen GPU's
// /dev/nvidiaN and for the control devices CUDA opens. The driver's user-space libraries (libcuda
// and friends) are under /usr on Debian, which every sandbox already sees read-only.
import type { GpuDetection, GpuInfo } from './gpuInfo.ts'

export type GpuDeviceBindsParameters = {
  /** The GPUs this job gets (from requireGpu). */
  gpus: readonly GpuInfo[]
  detection: Pick<GpuDetection, 'controlDevices'>
}

/** bwrap arguments to add after `--dev /dev` (bwrap applies them in order); empty for no GPU. */
export type GpuDeviceBindsReturnType = string[]

export function gpuDeviceBinds({ gpus, detection }: GpuDeviceBindsParameters): GpuDeviceBindsReturnType {
  if (gpus.length === 0) return []
  const files = [...detection.controlDevices, ...gpus.map((g) => g.deviceFile)]
  // Inside the sandbox the files keep their host names: CUDA looks for /dev/nvidia<minor>.
  return [...new Set(files)].flatMap((file) => ['--dev-bind', file, file])
}
