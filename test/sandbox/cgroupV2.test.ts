// cgroup v2, as most hosts have it: every process of a job is born inside the job's cgroup (the
// native launcher clones it there) and the launcher never enters it, pre-started sandboxes are
// used, and where the kernel can reset memory.peak an emptied cgroup serves the next job.
// Skipped where the controllers are on v1 (this development machine); `npm run test:vm` runs it
// in a cgroup v2 kernel.
import { readdirSync, readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { probeCgroupV2 } from '../host/probeCgroupV2.ts'
import { probeMemoryPeakReset } from '../host/probeMemoryPeakReset.ts'
import { requireHost } from '../host/requireHost.ts'
import { createJobRunner, type JobRunner } from './createJobRunner.ts'

let runner: JobRunner | undefined
let cold: JobRunner | undefined

beforeAll(async () => {
  if (!probeCgroupV2().supported) return
  ;[runner, cold] = await Promise.all([createJobRunner(), createJobRunner({ warmSandboxes: 0 })])
})
afterAll(async () => {
  await Promise.all([runner?.close(), cold?.close()])
})
beforeEach((context) => requireHost(context, probeCgroupV2()))

/** The host's view of a process: its parent and its cgroup (from /proc). */
function processInfo(pid: number): { ppid: number; cgroup: string; comm: string } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return {
    ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]),
    cgroup: /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))![1]!,
    comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
  }
}

/** Host pids whose command line starts with `marker`. */
function pidsNamed(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').startsWith(marker)
      } catch {
        return false
      }
    })
    .map(Number)
}

/** Runs a job that starts a marked sleeper; returns the cgroups of the sleeper's ancestors up to the launcher. */
async function cgroupChainOf(jobRunner: JobRunner): Promise<{ job: string[]; launcher: { comm: string; cgroup: string } }> {
  const marker = `sleeper-${randomBytes(6).toString('hex')}`
  const controller = new AbortController()
  let chain: { job: string[]; launcher: { comm: string; cgroup: string } } | undefined
  let failure: Error | undefined
  const result = await jobRunner.run({
    files: { 'main.sh': `(exec -a "${marker}" sleep 1000) &\nuntil read -r -d '' argv0 < /proc/$!/cmdline; [[ $argv0 == "${marker}" ]]; do sleep 0.01; done\necho started\nwait\n` },
    manifest: { timeout: 60 },
    signal: controller.signal,
    onOutput: (_stream, chunk) => {
      if (!chunk.toString().includes('started') || chain || failure) return
      const job: string[] = []
      const seen: string[] = []
      try {
        let pid = pidsNamed(marker)[0]!
        let info = processInfo(pid)
        // sleeper, bash, bwrap's pid 1 in the sandbox, bwrap outside: up to the process that started them.
        while (!info.comm.startsWith('sandrun-spawn')) {
          job.push(info.cgroup)
          seen.push(`${pid} ${info.comm} ${info.cgroup}`)
          if (info.ppid <= 1) throw new Error('no sandrun-spawn among its ancestors')
          pid = info.ppid
          info = processInfo(pid)
        }
        chain = { job, launcher: { comm: info.comm, cgroup: info.cgroup } }
      } catch (error) {
        // Ends the job now: the test fails with what was found instead of waiting for the timeout.
        failure = new Error(`${(error as Error).message}; ancestors: ${seen.join(' <- ')}`)
      }
      controller.abort()
    },
  })
  if (failure) throw failure
  expect(result.termination).toBe('cancelled')
  return chain!
}

it('uses the fast paths: clone3 into the job cgroup, pre-started sandboxes', () => {
  const { cgroupVersion, cgroupControllers, processLauncher, processLauncherNote, warmSandboxes, isolation } = runner!.sandbox.capabilities
  expect({ cgroupVersion, processLauncher, processLauncherNote, warmSandboxes, isolation }).toEqual({
    cgroupVersion: 'v2',
    processLauncher: 'native',
    processLauncherNote: null,
    warmSandboxes: 2,
    isolation: 'full',
  })
  expect(cgroupControllers).toEqual(expect.arrayContaining(['memory', 'pids']))
})

it.for([
  ['a pre-started sandbox', () => runner!],
  ['a sandbox started for the job', () => cold!],
] as const)("keeps every process of a job in the job's own cgroup, and the launcher out of it (%s)", async ([, which]) => {
  const { job, launcher } = await cgroupChainOf(which())
  expect(job.length).toBeGreaterThanOrEqual(4)
  expect(new Set(job).size).toBe(1)
  expect(job[0]).toMatch(/\/sandrun-[0-9a-f]+\/[^/]+$/)
  expect(launcher.cgroup).not.toBe(job[0])
})

it('reuses emptied job cgroups for later jobs, each measured afresh', async (context) => {
  requireHost(context, probeMemoryPeakReset())
  const seen = new Set<string>()
  for (let i = 0; i < 4; i++) {
    seen.add((await cgroupChainOf(cold!)).job[0]!)
    const big = await cold!.run({ files: { 'main.py': 'x = bytearray(100 * 1024 * 1024)\nfor i in range(0, len(x), 4096):\n    x[i] = 1\n' }, manifest: { memory_mb: 256 } })
    expect(big.memoryPeakBytes).toBeGreaterThan(100 * 1024 * 1024)
    const small = await cold!.run({ files: { 'job.sh': 'echo small\n' } })
    expect(small.memoryPeakBytes).toBeLessThan(32 * 1024 * 1024)
  }
  // Twelve jobs one after another: a fresh cgroup each would make twelve (four of them seen here).
  expect(seen.size).toBeLessThan(4)
})
