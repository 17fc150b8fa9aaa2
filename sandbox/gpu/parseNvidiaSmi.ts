// Parses the two nvidia-smi outputs GPU detection reads: the CSV of
// `--query-gpu=index,name,memory.total,driver_version,compute_cap,pci.bus_id
// --format=csv,noheader,nounits` and the CUDA version in the plain `nvidia-smi` header.

export type NvidiaSmiGpu = {
  index: number
  name: string
  memoryMiB: number | null
  driverVersion: string | null
  computeCapability: string | null
  /** Lower-case `0000:17:00.0`, the name of its /proc/driver/nvidia/gpus/ directory. */
  busId: string | null
}

function field(value: string | undefined): string | null {
  const trimmed = value?.trim() ?? ''
  return trimmed === '' || /^\[.*\]$/.test(trimmed) || trimmed === 'N/A' ? null : trimmed
}

/** One GPU per CSV line; lines that do not start with an index are skipped. */
export function parseNvidiaSmiQuery(csv: string): NvidiaSmiGpu[] {
  const gpus: NvidiaSmiGpu[] = []
  for (const line of csv.split('\n')) {
    const cells = line.split(',')
    const index = Number(cells[0]?.trim())
    if (cells.length < 5 || !Number.isInteger(index) || cells[0]!.trim() === '') continue
    const memory = Number(field(cells[2]) ?? Number.NaN)
    // nvidia-smi prints the 32-bit domain (00000000:17:00.0); /proc uses 16 bits, lower-case.
    const bus = field(cells[5])
    gpus.push({
      index,
      name: field(cells[1]) ?? 'NVIDIA GPU',
      memoryMiB: Number.isFinite(memory) ? memory : null,
      driverVersion: field(cells[3]),
      computeCapability: field(cells[4]),
      busId: bus ? bus.toLowerCase().replace(/^[0-9a-f]*([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f])$/, '$1') : null,
    })
  }
  return gpus
}

/** `CUDA Version: 12.4` from nvidia-smi's header, or null. */
export function parseNvidiaSmiCudaVersion(text: string): string | null {
  return /CUDA Version:\s*(\d+(?:\.\d+)*)/.exec(text)?.[1] ?? null
}

/** `Device Minor: 3` from /proc/driver/nvidia/gpus/<bus>/information, or null. */
export function parseDeviceMinor(information: string): number | null {
  const match = /Device Minor:\s*(\d+)/.exec(information)
  return match ? Number(match[1]) : null
}
