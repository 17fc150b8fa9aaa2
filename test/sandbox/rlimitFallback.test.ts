// Without cgroups (rootless, or no writable hierarchy) jobs keep every namespace and the seccomp
// filter, limits come from rlimits, and the sandbox says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobRunner, type JobRunner } from './createJobRunner.ts'

let runner: JobRunner

beforeAll(async () => {
  // RLIMIT_NPROC counts every process of a uid on the host: every job runs as a host uid of its
  // own, so other jobs (other test files' too) cannot use up its budget.
  runner = await createJobRunner({ cgroups: false })
})
afterAll(async () => {
  await runner?.close()
})

describe('rlimit fallback', () => {
  it('reports the weaker isolation', () => {
    expect(runner.sandbox.capabilities.isolation).toBe('rlimits')
    expect(runner.sandbox.capabilities.isolationNote).toMatch(/rlimits/)
  })

  it('stops a busy loop at its cpu_seconds budget', async () => {
    const result = await runner.run({
      files: { 'spin.py': 'while True:\n    pass\n' },
      manifest: { entrypoint: 'spin.py', cpu_seconds: 1, timeout: 20 },
    })
    expect(result.termination).toBe('cpu_limit')
  })

  it('refuses memory beyond memory_mb', async () => {
    const result = await runner.run({
      files: { 'hog.py': 'x = bytearray(300 * 1024 * 1024)\nprint("allocated")\n' },
      manifest: { entrypoint: 'hog.py', memory_mb: 64 },
    })
    expect(result.exitCode).not.toBe(0)
    expect(result.err).toContain('MemoryError')
  })

  it('still runs node, whose runtime reserves large address ranges', async () => {
    const result = await runner.run({
      files: { 'hello.js': 'console.log("hello from node")\n' },
      manifest: { entrypoint: 'hello.js' },
    })
    expect(result.exitCode).toBe(0)
    expect(result.out).toContain('hello from node')
  })
})
