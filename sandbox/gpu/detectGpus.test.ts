import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectGpus } from './detectGpus.ts'
import { parseDeviceMinor, parseNvidiaSmiCudaVersion, parseNvidiaSmiQuery } from './parseNvidiaSmi.ts'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sandrun-gpu-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A fake host: device files as plain files, a fake nvidia-smi script, a fake /proc/driver/nvidia. */
function fakeHost(name: string, { devices, smi }: { devices: string[]; smi?: { query: string; header: string } }) {
  const root = path.join(dir, name)
  const devDir = path.join(root, 'dev')
  mkdirSync(devDir, { recursive: true })
  for (const device of devices) writeFileSync(path.join(devDir, device), '')
  const procDriverDir = path.join(root, 'proc')
  mkdirSync(path.join(procDriverDir, 'gpus', '0000:41:00.0'), { recursive: true })
  writeFileSync(path.join(procDriverDir, 'gpus', '0000:41:00.0', 'information'), 'Model: NVIDIA A10\nDevice Minor: 3\n')
  const nvidiaSmi = path.join(root, 'nvidia-smi')
  if (smi) {
    writeFileSync(nvidiaSmi, `#!/bin/sh\ncase "$1" in --query-gpu=*) printf '%s\\n' '${smi.query}' ;; *) printf '%s\\n' '${smi.header}' ;; esac\n`)
    chmodSync(nvidiaSmi, 0o755)
  }
  return { devDir, procDriverDir, nvidiaSmiPaths: [nvidiaSmi] }
}

describe('detectGpus', () => {
  it('reports no GPU on this machine (no /dev/nvidia* device files)', async () => {
    expect(await detectGpus()).toEqual({ gpus: [], controlDevices: [], note: null })
  })

  it('reads nvidia-smi and maps each GPU to its device file through /proc', async () => {
    const host = fakeHost('smi', {
      devices: ['nvidia0', 'nvidia3', 'nvidiactl', 'nvidia-uvm', 'nvidia-modeset'],
      smi: {
        query: '0, NVIDIA H100 80GB HBM3, 81559, 550.54.15, 9.0, 00000000:17:00.0\n1, NVIDIA A10, 23028, 550.54.15, 8.6, 00000000:41:00.0',
        header: '| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4 |',
      },
    })
    const detection = await detectGpus(host)
    expect(detection.note).toBeNull()
    expect(detection.controlDevices).toEqual([path.join(host.devDir, 'nvidiactl'), path.join(host.devDir, 'nvidia-uvm')])
    expect(detection.gpus).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, driverVersion: '550.54.15', computeCapability: '9.0', cudaVersion: '12.4', deviceFile: path.join(host.devDir, 'nvidia0') },
      { index: 1, name: 'NVIDIA A10', memoryMiB: 23028, driverVersion: '550.54.15', computeCapability: '8.6', cudaVersion: '12.4', deviceFile: path.join(host.devDir, 'nvidia3') },
    ])
  })

  it('still lists GPUs from device files when nvidia-smi is missing, and says what is unknown', async () => {
    const host = fakeHost('nosmi', { devices: ['nvidia0', 'nvidiactl'] })
    const detection = await detectGpus(host)
    expect(detection.gpus).toHaveLength(1)
    expect(detection.gpus[0]).toMatchObject({ name: 'NVIDIA GPU', memoryMiB: null, deviceFile: path.join(host.devDir, 'nvidia0') })
    expect(detection.note).toContain('nvidia-smi not found')
  })
})

describe('parseNvidiaSmi', () => {
  it('parses query lines, skipping junk and reading [N/A] as unknown', () => {
    expect(parseNvidiaSmiQuery('0, Tesla K80, 11441, 470.82.01, [N/A], 00000000:00:1E.0\nNo devices were found\n')).toEqual([
      { index: 0, name: 'Tesla K80', memoryMiB: 11441, driverVersion: '470.82.01', computeCapability: null, busId: '0000:00:1e.0' },
    ])
  })

  it('reads the CUDA version from the header and the device minor from /proc', () => {
    expect(parseNvidiaSmiCudaVersion('Driver Version: 535.104.05   CUDA Version: 12.2     |')).toBe('12.2')
    expect(parseNvidiaSmiCudaVersion('no header')).toBeNull()
    expect(parseDeviceMinor('Model:  Tesla T4\nIRQ:  34\nDevice Minor:  7\n')).toBe(7)
  })
})
