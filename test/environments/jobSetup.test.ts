// What the runner adds to a job's sandbox for its template and its GPU, with a real sandbox and an
// injected host description: a fake GPU whose "device files" are plain files the test writes, so
// the pass-through is checked on any machine (a real CUDA call needs a GPU host, see
// docs/environments.md), and a template with variables marked installed.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectEnvironments } from '../../sandbox/environments/detectEnvironments.ts'
import type { GpuDetection } from '../../sandbox/gpu/gpuInfo.ts'
import { createJobRunner, type JobRunner } from '../sandbox/createJobRunner.ts'

let devDir: string
let runner: JobRunner

beforeAll(async () => {
  devDir = mkdtempSync(path.join(tmpdir(), 'sandrun-fake-gpu-'))
  chmodSync(devDir, 0o755)
  writeFileSync(path.join(devDir, 'nvidia0'), 'gpu zero\n', { mode: 0o644 })
  writeFileSync(path.join(devDir, 'nvidiactl'), 'control\n', { mode: 0o644 })
  const gpus: GpuDetection = {
    gpus: [{ index: 0, name: 'Fake GPU', memoryMiB: 16 * 1024, driverVersion: '550.54', computeCapability: '8.6', cudaVersion: '12.4', deviceFile: path.join(devDir, 'nvidia0') }],
    controlDevices: [path.join(devDir, 'nvidiactl')],
    note: null,
  }
  // data-science counts as installed whatever this host has: the test only reads its variables.
  const environments = (await detectEnvironments()).map((d) => (d.template.name === 'data-science' ? { ...d, installed: true, missing: [] } : d))
  runner = await createJobRunner({ gpus, environments })
})
afterAll(async () => {
  await runner.close()
  rmSync(devDir, { recursive: true, force: true })
})

describe('GPU devices in the sandbox', () => {
  it('passes the chosen GPU and the control devices into a GPU job', async () => {
    const script = `cat ${devDir}/nvidia0 ${devDir}/nvidiactl`
    const result = await runner.run({ files: { 'main.sh': script }, manifest: { gpu: { required: true, min_vram_gb: 8, compute_capability: '8.0' } } })
    expect({ exit: result.exitCode, out: result.out, err: result.err }).toEqual({ exit: 0, out: 'gpu zero\ncontrol\n', err: '' })
  })

  it('gives a job without a GPU requirement no device', async () => {
    const result = await runner.run({ files: { 'main.sh': `test -e ${devDir}/nvidia0 && echo visible || echo absent` } })
    expect(result.out).toBe('absent\n')
  })

  it('refuses to run a job whose GPU requirement this host does not meet', async () => {
    await expect(runner.run({ files: { 'main.sh': 'true' }, manifest: { gpu: { required: true, min_vram_gb: 40 } } })).rejects.toMatchObject({
      code: 'GPU_UNAVAILABLE',
      shortMessage: 'This job needs a GPU with 40 GB of memory; the largest GPU here has 16 GB.',
    })
  })
})

describe('template variables', () => {
  it("sets the template's variables for its jobs, and not for others", async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, for the job's shell
    const script = 'echo "${MPLCONFIGDIR:-unset} ${MPLBACKEND:-unset} $HOME"'
    const templated = await runner.run({ files: { 'main.sh': script }, manifest: { environment: 'data-science', env: { MPLBACKEND: 'TkAgg' } } })
    // The template's value wins over the user's; the fixed variables win over both.
    expect(templated.out).toBe('/tmp/matplotlib Agg /work\n')
    const plain = await runner.run({ files: { 'main.sh': script } })
    expect(plain.out).toBe('unset unset /work\n')
  })

  it('refuses a job for an unknown template', async () => {
    await expect(runner.run({ files: { 'main.sh': 'true' }, manifest: { environment: 'quantum' } })).rejects.toMatchObject({ code: 'ENVIRONMENT_UNKNOWN' })
  })
})
