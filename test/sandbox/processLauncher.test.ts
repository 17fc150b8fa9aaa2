// Every way of starting job processes behaves the same for the job and for the caller: output,
// exit codes, signals, large output and cancellation. The native launcher
// (sandrun-spawn.c) is the default where a C compiler exists; the Node spawner is the fallback and
// `direct` spawns from the service itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobRunner, type JobRunner } from './createJobRunner.ts'

describe.each(['native', 'node', 'direct'] as const)('process launcher: %s', (kind) => {
  let runner: JobRunner
  beforeAll(async () => {
    runner = await createJobRunner({ spawner: kind })
  })
  afterAll(async () => {
    await runner?.close()
  })

  it('is the launcher in use', () => {
    expect(runner.sandbox.capabilities.processLauncher).toBe(kind)
  })

  it('delivers stdout and stderr live and in the result, with the exit code', async () => {
    const live: string[] = []
    const result = await runner.run({
      files: { 'job.sh': 'echo out; echo err >&2; exit 7\n' },
      onOutput: (stream, chunk) => live.push(`${stream}:${chunk.toString()}`),
    })
    expect(result.exitCode).toBe(7)
    expect(result.termination).toBe('exited')
    expect(result.out).toBe('out\n')
    expect(result.err).toBe('err\n')
    expect(live.join('')).toContain('stdout:out\n')
    expect(live.join('')).toContain('stderr:err\n')
  })

  it('hands the job stdin, stdout and stderr only', async () => {
    // The fourth is the directory being listed.
    const result = await runner.run({ files: { 'job.py': "import os\nprint(' '.join(sorted(os.listdir('/proc/self/fd'))))\n" } })
    expect(result.out).toBe('0 1 2 3\n')
  })

  it('reports a job killed by a signal', async () => {
    const result = await runner.run({ files: { 'job.sh': 'kill -SEGV $$\n' } })
    expect(result.exitCode).toBeNull()
    expect(result.termination).toBe('signaled:11')
  })

  it('relays 8 MB of output intact', async () => {
    const result = await runner.run({
      files: { 'job.py': "import sys\nfor i in range(8 * 1024):\n    sys.stdout.write(('%07d' % i) + 'x' * 1016 + '\\n')\n" },
    })
    expect(result.exitCode).toBe(0)
    expect(result.stdout.length).toBe(8 * 1024 * 1024)
    const lines = result.out.split('\n')
    expect(lines[0]!.slice(0, 7)).toBe('0000000')
    expect(lines[8191]!.slice(0, 7)).toBe('0008191')
  })

  it('cancels a running job and then runs the next one', async () => {
    const abort = new AbortController()
    const result = await runner.run({
      files: { 'job.sh': 'echo started; sleep 30\n' },
      signal: abort.signal,
      onOutput: () => abort.abort(),
    })
    expect(result.termination).toBe('cancelled')
    const next = await runner.run({ files: { 'job.sh': 'echo next\n' } })
    expect(next.out).toBe('next\n')
  })

  it('runs 12 jobs at once, each with its own output', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => runner.run({ files: { 'job.sh': `echo job-${i}; exit ${i}\n` } })),
    )
    results.forEach((result, i) => {
      expect(result.out).toBe(`job-${i}\n`)
      expect(result.exitCode).toBe(i)
    })
  })
})

describe('the native launcher', () => {
  let runner: JobRunner
  beforeAll(async () => {
    runner = await createJobRunner()
  })
  afterAll(async () => {
    await runner?.close()
  })

  it('is the default here', () => {
    expect(runner.sandbox.capabilities.processLauncher).toBe('native')
    expect(runner.sandbox.capabilities.processLauncherNote).toBeNull()
  })

  it('gives the job output pipes it may reopen through /dev/stdout and /dev/stderr', async () => {
    const result = await runner.run({ files: { 'job.sh': 'echo to-stdout > /dev/stdout; echo to-stderr > /dev/stderr\n' } })
    expect(result.exitCode).toBe(0)
    expect(result.out).toBe('to-stdout\n')
    expect(result.err).toBe('to-stderr\n')
  })
})

describe('/dev in the sandbox', () => {
  let runner: JobRunner
  beforeAll(async () => {
    runner = await createJobRunner()
  })
  afterAll(async () => {
    await runner?.close()
  })

  it('offers the usual devices, cannot be written, and has a private /dev/shm per job', async () => {
    const script = `
import os, json
def attempt(fn):
    try:
        fn()
        return 'ok'
    except OSError as e:
        return os.strerror(e.errno)
with open('/dev/null', 'w') as f: f.write('x')
random_bytes = len(open('/dev/urandom', 'rb').read(16))
zeros = open('/dev/zero', 'rb').read(4)
shm_before = sorted(os.listdir('/dev/shm'))
open('/dev/shm/mine', 'w').write('secret')
print(json.dumps({
  'random': random_bytes, 'zeros': list(zeros), 'create_in_dev': attempt(lambda: open('/dev/new', 'w')),
  'remove_null': attempt(lambda: os.unlink('/dev/null')), 'shm_before': shm_before,
  'fd_link': os.readlink('/dev/fd'),
}))
`
    const first = await runner.run({ files: { 'job.py': script } })
    const second = await runner.run({ files: { 'job.py': script } })
    for (const result of [first, second]) {
      const report = result.report<{ random: number; zeros: number[]; create_in_dev: string; remove_null: string; shm_before: string[]; fd_link: string }>()
      expect(report.random).toBe(16)
      expect(report.zeros).toEqual([0, 0, 0, 0])
      expect(report.create_in_dev).not.toBe('ok')
      expect(report.remove_null).not.toBe('ok')
      // The first job's file is not visible to the second.
      expect(report.shm_before).toEqual([])
      expect(report.fd_link).toBe('/proc/self/fd')
    }
  })
})
