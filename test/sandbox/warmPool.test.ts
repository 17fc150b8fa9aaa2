// Pre-started sandboxes: a job of the default shape runs in one that was set up before it arrived,
// and must not be able to tell, except by being faster: same environment, same open files, its
// own limits and accounting. Jobs of other shapes, and jobs that fail before starting, still work.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { hostSlowdown } from '../host/hostSlowdown.ts'
import { probeCgroupLimits } from '../host/probeCgroupLimits.ts'
import { requireHost } from '../host/requireHost.ts'
import { createJobRunner, type JobRunner } from './createJobRunner.ts'

let warm: JobRunner
let cold: JobRunner

beforeAll(async () => {
  ;[warm, cold] = await Promise.all([createJobRunner(), createJobRunner({ warmSandboxes: 0 })])
})
afterAll(async () => {
  await Promise.all([warm?.close(), cold?.close()])
})
// Each pre-started sandbox waits in a cgroup of its own: without cgroups there are none.
beforeEach((context) => requireHost(context, probeCgroupLimits()))

/** Runs one job and tells whether it took a pre-started sandbox (jobs cannot see it: the host counts). */
async function runCounted(runner: JobRunner, parameters: Parameters<JobRunner['run']>[0]) {
  const before = runner.sandbox.warmStarts()
  const result = await runner.run(parameters)
  return { result, prestarted: runner.sandbox.warmStarts() > before }
}

const probe = `
import json, os
print(json.dumps({
  'env': dict(os.environ),
  'fds': sorted(os.listdir('/proc/self/fd')),
  'cwd': os.getcwd(),
  'argv': __import__('sys').argv,
}))
`

describe('pre-started sandboxes', () => {
  it('are kept ready by default', () => {
    const { warmSandboxes, processLauncherNote } = warm.sandbox.capabilities
    expect({ warmSandboxes, processLauncherNote }).toEqual({ warmSandboxes: 2, processLauncherNote: null })
    expect(cold.sandbox.capabilities.warmSandboxes).toBe(0)
  })

  it('run a job with the same environment, files, arguments and working directory as a fresh sandbox', async () => {
    const manifest = { args: ['one', 'two words'], env: { GREETING: 'hello' } }
    const [fromPool, fresh] = await Promise.all([runCounted(warm, { files: { 'main.py': probe }, manifest }), runCounted(cold, { files: { 'main.py': probe }, manifest })])
    type Probe = { env: Record<string, string>; fds: string[]; cwd: string; argv: string[] }
    const a = fromPool.result.report<Probe>()
    const b = fresh.result.report<Probe>()
    expect(fromPool.prestarted).toBe(true)
    expect(fresh.prestarted).toBe(false)
    expect(a.env).toEqual(b.env)
    expect(a.env.GREETING).toBe('hello')
    // stdin, stdout, stderr and the directory listing itself: nothing of the launcher is left open.
    expect(a.fds).toEqual(b.fds)
    expect(a.fds).toEqual(['0', '1', '2', '3'])
    expect(a.cwd).toBe('/work')
    expect(a.argv).toEqual(['/work/main.py', 'one', 'two words'])
  })

  it('keep serving one job after another, each in a sandbox of its own', async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 6; i++) {
      const { result, prestarted } = await runCounted(warm, {
        files: { 'main.py': `import os, json\nopen('/tmp/mark', 'a').write('x')\nprint(json.dumps({'marks': open('/tmp/mark').read(), 'work': sorted(os.listdir('/work'))}))\n` },
      })
      const report = result.report<{ marks: string; work: string[] }>()
      expect(report.marks).toBe('x')
      expect(report.work).toEqual(['main.py'])
      if (prestarted) seen.add(String(i))
    }
    // Sequential jobs leave the pool time to refill: most take a pre-started sandbox.
    expect(seen.size).toBeGreaterThanOrEqual(4)
  })

  it("apply the job's own memory limit and count only the job's CPU time", async () => {
    const { result: hog, prestarted } = await runCounted(warm, {
      files: { 'main.py': "x = bytearray(200 * 1024 * 1024)\nfor i in range(0, len(x), 4096):\n    x[i] = 1\n" },
      manifest: { memory_mb: 64 },
    })
    expect(prestarted).toBe(true)
    expect(hog.termination).toBe('oom')
    const trivial = await warm.run({ files: { 'job.sh': 'exit 0\n' } })
    expect(trivial.exitCode).toBe(0)
    expect(trivial.cpuSeconds).toBeLessThan(0.05 * hostSlowdown())
    expect(trivial.memoryPeakBytes).toBeGreaterThan(0)
  })

  it('are given back when a job fails before it starts, and the next job still runs', async () => {
    await expect(warm.run({ files: { 'job.sh': 'echo hi\n' }, manifest: { entrypoint: 'missing.sh' } })).rejects.toMatchObject({ code: 'ENTRYPOINT_MISSING' })
    const next = await warm.run({ files: { 'job.sh': 'echo next\n' } })
    expect(next.out).toBe('next\n')
  })

  it('are not used for jobs of another shape (a bigger /tmp)', async () => {
    const { result, prestarted } = await runCounted(warm, { files: { 'main.py': "print('ran')\n" }, limits: { tmpBytes: 128 * 1024 * 1024 } })
    expect(result.out).toBe('ran\n')
    expect(prestarted).toBe(false)
  })

  it('survive the loss of the launcher: jobs keep running, and a new launcher refills the pool', async () => {
    const launchers = () =>
      new Set(
        readdirSync('/proc').filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(process.pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('sandrun-spawn')
          } catch {
            return false
          }
        }),
      )
    const before = launchers()
    const runner = await createJobRunner()
    try {
      const [mine] = [...launchers()].filter((pid) => !before.has(pid))
      expect(mine).toBeDefined()
      process.kill(Number(mine), 'SIGKILL')
      // Once the service has reaped it, the next job runs, started directly if no launcher is back
      // yet. (A start sent to it in the instant before fails that one job: it is not sent again,
      // since the launcher may have started the process before it died.)
      await vi.waitFor(() => expect(existsSync(`/proc/${mine}`)).toBe(false), { timeout: 10_000, interval: 5 })
      const job = { files: { 'main.py': "print('ran')\n" } }
      const during = await runner.run(job)
      expect(during.exitCode).toBe(0)
      // Soon: a new launcher, and pre-started sandboxes again.
      let prestarted = false
      for (let attempt = 0; attempt < 100 && !prestarted; attempt++) prestarted = (await runCounted(runner, job)).prestarted
      expect(prestarted).toBe(true)
      const now = [...launchers()].filter((pid) => !before.has(pid))
      expect(now).toHaveLength(1)
      expect(now[0]).not.toBe(mine)
    } finally {
      await runner.close()
    }
  })
})
