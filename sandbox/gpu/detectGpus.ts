// Finds this host's NVIDIA GPUs: device files under /dev first (no device file, no GPU a sandbox
// could use), then nvidia-smi for name, memory, driver, compute capability and CUDA version.
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { findExecutable } from '../findExecutable.ts'
import type { GpuDetection, GpuInfo } from './gpuInfo.ts'
import { parseDeviceMinor, parseNvidiaSmiCudaVersion, parseNvidiaSmiQuery } from './parseNvidiaSmi.ts'

export type DetectGpusParameters = {
  /** Overridable for tests. */
  devDir?: string | undefined
  procDriverDir?: string | undefined
  nvidiaSmiPaths?: readonly string[] | undefined
}

export type DetectGpusReturnType = GpuDetection

const controlDeviceNames = ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools']

function runNvidiaSmi(binary: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: 20_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } }, (error, stdout) => resolve(error ? null : String(stdout)))
  })
}

export async function detectGpus({
  devDir = '/dev',
  procDriverDir = '/proc/driver/nvidia',
  nvidiaSmiPaths = ['/usr/bin/nvidia-smi', '/usr/local/bin/nvidia-smi'],
}: DetectGpusParameters = {}): Promise<DetectGpusReturnType> {
  let entries: string[] = []
  try {
    entries = readdirSync(devDir)
  } catch {
    entries = []
  }
  const minors = entries.filter((e) => /^nvidia\d+$/.test(e)).map((e) => Number(e.slice(6))).sort((a, b) => a - b)
  const controlDevices = controlDeviceNames.filter((n) => entries.includes(n)).map((n) => path.join(devDir, n))
  if (minors.length === 0) return { gpus: [], controlDevices: [], note: null }

  const smi = findExecutable(nvidiaSmiPaths)
  const fallback = (note: string): GpuDetection => ({
    gpus: minors.map((minor, index) => ({
      index,
      name: 'NVIDIA GPU',
      memoryMiB: null,
      driverVersion: null,
      computeCapability: null,
      cudaVersion: null,
      deviceFile: path.join(devDir, `nvidia${minor}`),
    })),
    controlDevices,
    note,
  })
  if (!smi) return fallback('nvidia-smi not found: GPU memory, compute capability and CUDA version are unknown')

  const format = '--format=csv,noheader,nounits'
  // Drivers before 510 do not know compute_cap; ask again without it.
  const csv =
    (await runNvidiaSmi(smi, ['--query-gpu=index,name,memory.total,driver_version,compute_cap,pci.bus_id', format])) ??
    (await runNvidiaSmi(smi, ['--query-gpu=index,name,memory.total,driver_version,pci.bus_id', format]).then((text) =>
      text === null ? null : text.split('\n').map((line) => { const c = line.split(','); return c.length >= 5 ? [...c.slice(0, 4), '', c[4]].join(',') : line }).join('\n'),
    ))
  if (csv === null) return fallback('nvidia-smi failed: GPU details are unknown')
  const cudaVersion = parseNvidiaSmiCudaVersion((await runNvidiaSmi(smi, [])) ?? '')

  const gpus: GpuInfo[] = []
  for (const gpu of parseNvidiaSmiQuery(csv)) {
    // The device file's minor number is not always the nvidia-smi index; /proc knows the mapping.
    let minor: number | null = null
    if (gpu.busId) {
      try {
        minor = parseDeviceMinor(readFileSync(path.join(procDriverDir, 'gpus', gpu.busId, 'information'), 'utf8'))
      } catch {
        minor = null
      }
    }
    const deviceMinor = minor ?? gpu.index
    if (!minors.includes(deviceMinor)) continue
    gpus.push({
      index: gpu.index,
      name: gpu.name,
      memoryMiB: gpu.memoryMiB,
      driverVersion: gpu.driverVersion,
      computeCapability: gpu.computeCapability,
      cudaVersion,
      deviceFile: path.join(devDir, `nvidia${deviceMinor}`),
    })
  }
  return { gpus, controlDevices, note: cudaVersion === null ? 'nvidia-smi did not report a CUDA version' : null }
}
