// What the sandbox knows about a host's GPUs: one record per NVIDIA GPU plus the control device
// files every CUDA process needs. Reported in /health, /pool and worker heartbeats.

export type GpuInfo = {
  /** nvidia-smi's index. */
  index: number
  /** e.g. `NVIDIA H100 80GB HBM3`; `NVIDIA GPU` when nvidia-smi is missing. */
  name: string
  /** Total memory in MiB, null when nvidia-smi is missing. */
  memoryMiB: number | null
  driverVersion: string | null
  /** e.g. `9.0`; null when unknown (old drivers cannot report it). */
  computeCapability: string | null
  /** Highest CUDA version the driver supports (nvidia-smi's header), e.g. `12.4`. */
  cudaVersion: string | null
  /** The GPU's device file on the host, e.g. `/dev/nvidia0`. */
  deviceFile: string
}

export type GpuDetection = {
  gpus: GpuInfo[]
  /** /dev/nvidiactl, /dev/nvidia-uvm, /dev/nvidia-uvm-tools when present. */
  controlDevices: string[]
  /** Why detection is incomplete (no nvidia-smi, query failed), or null. */
  note: string | null
}
