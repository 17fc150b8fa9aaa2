// A job's use of the host, reported while it runs: CPU time from its cgroup, the bytes the service
// relayed for it and inflated for it, and what a `hold` answer does (its CPU is cut until `run`).
// Time paused for other clients' jobs moves the job's deadline; time held for its own quota does not.
// A report can be asked for out of turn while the job's processes run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobUsage } from '../../sandbox/index.ts'
import { hostSlowdown } from '../host/hostSlowdown.ts'
import { createJobRunner, type JobRunner } from './createJobRunner.ts'

let runner: JobRunner

beforeAll(async () => {
  runner = await createJobRunner({ usagePollMs: 100 })
})
afterAll(async () => {
  await runner?.close()
})

describe('job usage', () => {
  it('reports CPU as the job runs, holds it while told to, and reports a cancelled job in full', async () => {
    const reports: JobUsage[] = []
    const controller = new AbortController()
    let heldAt = -1
    const result = await runner.run({
      files: { 'spin.py': 'while True:\n    pass\n' },
      manifest: { cpu_seconds: 60, timeout: 60 },
      signal: controller.signal,
      onUsage: (usage) => {
        reports.push(usage)
        // Held once it has used half a second, for ten reports; then it runs until it used a second more.
        if (heldAt < 0 && usage.cpuSeconds > 0.5) heldAt = reports.length
        const holding = heldAt > 0 && reports.length < heldAt + 10
        if (heldAt > 0 && !holding && usage.cpuSeconds > reports[heldAt - 1]!.cpuSeconds + 1) controller.abort()
        return holding ? 'hold' : 'run'
      },
    })
    expect(result.termination).toBe('cancelled')
    const whileHeld = reports.slice(heldAt + 1, heldAt + 10)
    expect(whileHeld.every((r) => r.held)).toBe(true)
    // Held: a hundredth of a core at most, so well under a tenth of a second over ~0.9 s.
    expect(whileHeld.at(-1)!.cpuSeconds - whileHeld[0]!.cpuSeconds).toBeLessThan(0.1)
    // Let go again, it ran on; the last report (after the cancel) has everything it used.
    const last = reports.at(-1)!
    expect(last.held).toBe(false)
    expect(last.cpuSeconds).toBeGreaterThan(reports[heldAt - 1]!.cpuSeconds + 1)
    expect(last.cpuSeconds).toBeCloseTo(result.cpuSeconds, 1)
    expect(last.inflatedBytes).toBeGreaterThan(0)
  })

  it.for([
    ['pause', 'exited'],
    ['hold', 'timeout'],
  ] as const)('moves the deadline by the time paused for others, not held for its quota (%s)', async ([verdict, termination]) => {
    const slow = hostSlowdown()
    let asleepAt: number | undefined
    // A 2 s timeout (the runner scales it by the host's slowdown too), 3 s of sleep, the first 2 s
    // of it told to give way (from when it sleeps: a held job's start-up, at 1 % of a core, is slow).
    const result = await runner.run({
      files: { 'main.sh': `echo asleep\nsleep ${3 * slow}\necho woke\n` },
      manifest: { timeout: 2 },
      onOutput: (_stream, chunk) => {
        if (chunk.toString().includes('asleep')) asleepAt ??= performance.now()
      },
      onUsage: () => (asleepAt !== undefined && performance.now() - asleepAt < 2000 * slow ? verdict : 'run'),
    })
    expect(result.termination).toBe(termination)
    if (termination === 'exited') expect(result.out).toBe('asleep\nwoke\n')
  })

  it('counts every byte relayed from the job, those past the capture cap too', async () => {
    let last: JobUsage | undefined
    const result = await runner.run({
      files: { 'main.sh': 'head -c 3000000 /dev/zero' },
      limits: { outputCaptureBytes: 1000 },
      onUsage: (usage) => {
        last = usage
        return 'run'
      },
    })
    expect(result.stdoutTruncated).toBe(true)
    expect(last!.outputBytes).toBe(3_000_000)
  })

  it('reports out of turn when asked (a job arrived that may take its slot), and not once its processes have exited', async () => {
    // Reports on their own only every ten minutes: any report while the job runs is one asked for.
    const slowReports = await createJobRunner({ usagePollMs: 600_000 })
    try {
      const controller = new AbortController()
      let reportNow: (() => void) | undefined
      const reports: JobUsage[] = []
      const result = await slowReports.run({
        files: { 'main.sh': `echo ready\nsleep ${30 * hostSlowdown()}\n` },
        manifest: { timeout: 60 },
        signal: controller.signal,
        onReporter: (report) => (reportNow = report),
        onOutput: (_stream, chunk) => {
          if (chunk.toString().includes('ready')) reportNow?.()
        },
        onUsage: (usage) => {
          reports.push(usage)
          // The asked-for report came while it ran: the job is cancelled (it would sleep 30 s).
          if (reports.length === 1) controller.abort()
          return 'run'
        },
      })
      expect(result.termination).toBe('cancelled')
      // The asked-for one, then the one every job gets at its end; asked again after that, nothing.
      expect(reports).toHaveLength(2)
      reportNow?.()
      expect(reports).toHaveLength(2)
    } finally {
      await slowReports.close()
    }
  })
})
