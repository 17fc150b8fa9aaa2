// The job's clock and kill path on their own, with a stand-in cgroup that counts its reads: the
// CPU budget is checked every `cpuPollMs` while the job runs, once a second while it is held.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { JobCgroup } from './cgroups/types.ts'
import { createJobControl } from './createJobControl.ts'

afterEach(() => {
  vi.useRealTimers()
})

function countingCgroup(cpuSeconds: () => number) {
  const counts = { cpuReads: 0, kills: 0 }
  const cgroup = {
    cpuSeconds: () => {
      counts.cpuReads++
      return cpuSeconds()
    },
    hold: () => true,
    weigh: () => {},
    killAll: async () => {
      counts.kills++
    },
  } as unknown as JobCgroup
  return { cgroup, counts }
}

describe('job control', () => {
  it("checks a held job's CPU against its budget once a second, a running one every poll, and stops it past its budget", async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] })
    let used = 0
    const { cgroup, counts } = countingCgroup(() => used)
    let verdict: 'run' | 'hold' = 'run'
    const meter = { measuring: false, held: false }
    const control = createJobControl({
      runtime: { cpuPollMs: 50, usagePollMs: 1000 },
      manifest: { timeout: 600, cpu_seconds: 10 },
      cgroup,
      onUsage: () => verdict,
      usage: () => ({ cpuSeconds: used, outputBytes: 0, inflatedBytes: 0, held: meter.held }),
      meter,
    })
    control.started()
    await vi.advanceTimersByTimeAsync(1000)
    // Running: every 50 ms.
    expect(counts.cpuReads).toBe(20)
    verdict = 'hold'
    await vi.advanceTimersByTimeAsync(1000)
    expect(meter.held).toBe(true)
    const whenHeld = counts.cpuReads
    await vi.advanceTimersByTimeAsync(3000)
    expect(counts.cpuReads - whenHeld).toBe(3)
    // Past its budget while held: stopped within the second.
    used = 10.5
    await vi.advanceTimersByTimeAsync(1000)
    expect(control.killReason).toBe('cpu_limit')
    control.close()
  })
})
