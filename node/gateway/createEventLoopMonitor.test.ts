// The event-loop monitor tells the service's own work holding the loop from its main thread waiting
// for a CPU that other processes hold: the first is the service's to fix, the second the host's.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createEventLoopMonitor, threadTimesReader } from './createEventLoopMonitor.ts'

const hasSchedstat = threadTimesReader() !== null
const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 30))
/** 150 ms of CPU on the main thread, however long the host makes that take. */
function holdTheLoop(): void {
  const start = process.cpuUsage()
  for (;;) {
    const used = process.cpuUsage(start)
    if (used.user + used.system >= 150_000) break
  }
}

describe.skipIf(!hasSchedstat)(hasSchedstat ? 'the event-loop monitor' : 'the event-loop monitor: skipped, this kernel keeps no scheduler statistics', () => {
  it("counts a long stretch of the service's own work as running, not as waiting for a CPU", async () => {
    const monitor = createEventLoopMonitor()
    try {
      await nextTurn()
      holdTheLoop()
      await nextTurn()
      const delay = monitor.delay()
      expect(delay.maxMs).toBeGreaterThanOrEqual(120)
      expect(delay.maxRunningMs).toBeGreaterThanOrEqual(120)
    } finally {
      monitor.close()
    }
  })

  it('forgets what came before restart() (the service calls it once it listens: its start served no one)', async () => {
    const monitor = createEventLoopMonitor()
    try {
      await nextTurn()
      holdTheLoop()
      await nextTurn()
      expect(monitor.delay().maxRunningMs).toBeGreaterThanOrEqual(120)
      monitor.restart()
      await nextTurn()
      const delay = monitor.delay()
      expect(delay.maxRunningMs).toBeLessThan(120)
      expect(delay.maxMs).toBeLessThan(120)
    } finally {
      monitor.close()
    }
  })

  it('counts a wait for a CPU that other processes hold as waiting, not as running', async () => {
    // A service that does nothing, on one CPU with six busy processes: its turns come late, and
    // none of that is its own work.
    const spinners = Array.from({ length: 6 }, () => spawn('taskset', ['-c', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }))
    try {
      const fixture = fileURLToPath(new URL('../../test/gateway/fixtures/idleLoopMonitor.ts', import.meta.url))
      const child = spawn('taskset', ['-c', '0', process.execPath, '--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0)
      const delay = JSON.parse(out) as { maxRunningMs: number; maxWaitingForCpuMs: number }
      expect(delay.maxWaitingForCpuMs).toBeGreaterThan(5)
      expect(delay.maxWaitingForCpuMs).toBeGreaterThan(delay.maxRunningMs)
    } finally {
      for (const spinner of spinners) spinner.kill('SIGKILL')
    }
  })
})
