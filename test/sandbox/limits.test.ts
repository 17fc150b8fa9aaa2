// Resource limits and job lifecycle through the real sandbox: memory, pids, CPU, wall time, disk,
// output caps, hostile bundles, every interpreter, exit codes, signals, output collection and
// cancellation, each as the user of `runJob` sees it.
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import * as tar from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { type OutputKeeper, SandboxError } from '../../sandbox/index.ts'
import type { InterpreterName } from '../../sandbox/types.ts'
import { hostSlowdown } from '../host/hostSlowdown.ts'
import { probeCgroupLimits } from '../host/probeCgroupLimits.ts'
import { probeInterpreter } from '../host/probeInterpreter.ts'
import { requireHost } from '../host/requireHost.ts'
import { createJobRunner, type JobRunner, type JobRunParameters } from './createJobRunner.ts'
import { pythonJob } from './pythonJob.ts'

const mib = 1024 * 1024

let runner: JobRunner

beforeAll(async () => {
  runner = await createJobRunner()
})

afterAll(async () => {
  await runner?.close()
})

/** Host processes whose command line contains `marker`. */
function hostProcessesWith(marker: string): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry))
    } catch {
      // exited while we looked
    }
  }
  return found
}

describe('resource limits', () => {
  it('ends a job that uses more memory than memory_mb with oom', async (context) => {
    requireHost(context, probeCgroupLimits())
    const result = await runner.run({
      files: pythonJob(`
chunks = []
for _ in range(200):
    chunks.append(b'x' * (1 << 20))  # touched, not just reserved
report(allocated_mb=len(chunks))`),
      manifest: { memory_mb: 64, timeout: 20 },
    })
    expect(result.termination).toBe('oom')
    expect(result.out).not.toContain('allocated_mb')
    expect(result.memoryPeakBytes).toBeLessThanOrEqual(64 * mib)
  })

  it('measures every job afresh: after an OOM and a 150 MB job, a small job reports no OOM and its own peak', async (context) => {
    requireHost(context, probeCgroupLimits())
    // One at a time in one sandbox, so the later jobs run in cgroups the earlier ones used.
    const hog = pythonJob(`
chunks = [b'x' * (1 << 20) for _ in range(150)]
report(allocated_mb=len(chunks))`)
    const oom = await runner.run({ files: hog, manifest: { memory_mb: 64 } })
    expect(oom.termination).toBe('oom')
    const big = await runner.run({ files: hog, manifest: { memory_mb: 512 } })
    expect(big.report<{ allocated_mb: number }>().allocated_mb).toBe(150)
    expect(big.memoryPeakBytes).toBeGreaterThan(150 * mib)
    for (let i = 0; i < 4; i++) {
      const small = await runner.run({ files: { 'job.sh': 'echo small\n' }, manifest: { memory_mb: 64 } })
      expect(small.termination).toBe('exited')
      expect(small.out).toBe('small\n')
      expect(small.memoryPeakBytes).toBeLessThan(32 * mib)
      expect(small.cpuSeconds).toBeLessThan(0.1 * hostSlowdown())
    }
  })

  it("counts only a job's own processes against its pids limit, however many jobs ran before it", async (context) => {
    requireHost(context, probeCgroupLimits())
    // Many short jobs first, 8 at a time, then jobs of 85 processes each (the limit is 100): a job
    // placed where earlier ones' processes are still being reaped must not inherit their count.
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < 300) await runner.run({ files: { 'job.sh': 'exit 0\n' } })
      }),
    )
    const script = 'for i in $(seq 85); do /usr/bin/sleep 0.2 & done; wait; echo done\n'
    const batch = await Promise.all(Array.from({ length: 8 }, () => runner.run({ files: { 'job.sh': script } })))
    expect(new Set(batch.map((r) => `${r.termination}:${r.out}${r.err}`))).toEqual(new Set(['exited:done\n']))
  })

  it('contains a fork bomb: the job ends, the pids limit held it, the host can still spawn', async (context) => {
    requireHost(context, probeCgroupLimits())
    const marker = `forkbomb-${randomBytes(6).toString('hex')}`
    const result = await runner.run({
      // The bomb's processes detach from the script, so it stays (sleep) while they hit the limit.
      files: { 'bomb.sh': ':(){ :|:& };:\nsleep 2\n' },
      manifest: { timeout: 3, args: [marker] },
      limits: { pids: 32 },
    })
    expect(['timeout', 'exited']).toContain(result.termination)
    // bash reports the refused forks: the cgroup's pids limit, not the host's, stopped it.
    expect(result.err).toMatch(/fork: (retry: )?Resource temporarily unavailable/)
    expect(hostProcessesWith(marker)).toEqual([])
    expect(spawnSync('/usr/bin/true').status).toBe(0)
  })

  it('ends a fork bomb with one SIGKILL per process: what it forks while the cgroup is emptied is stopped first, not killed round after round', async (context) => {
    requireHost(context, probeCgroupLimits())
    const marker = `forkbomb-${randomBytes(6).toString('hex')}`
    const kills = new Map<number, number>()
    const kill = process.kill.bind(process)
    const spy = vi.spyOn(process, 'kill').mockImplementation((pid: number, signal?: string | number) => {
      if (signal === 'SIGKILL') kills.set(pid, (kills.get(pid) ?? 0) + 1)
      return kill(pid, signal)
    })
    try {
      const result = await runner.run({ files: { 'bomb.sh': ':(){ :|:& };:\nsleep 5\n' }, manifest: { timeout: 2, args: [marker] }, limits: { pids: 64 } })
      expect(result.termination).toBe('timeout')
    } finally {
      spy.mockRestore()
    }
    expect(kills.size).toBeGreaterThan(0)
    expect([...kills.entries()].filter(([, count]) => count > 1)).toEqual([])
    expect(hostProcessesWith(marker)).toEqual([])
  })

  it('stops a busy loop at cpu_seconds with cpu_limit', async (context) => {
    requireHost(context, probeCgroupLimits())
    const result = await runner.run({ files: { 'spin.py': 'while True:\n    pass\n' }, manifest: { cpu_seconds: 1, timeout: 10 } })
    expect(result.termination).toBe('cpu_limit')
    expect(result.exitCode).toBeNull()
    expect(result.cpuSeconds).toBeGreaterThanOrEqual(0.9)
    expect(result.cpuSeconds).toBeLessThan(10)
  })

  it('kills the whole process tree at the wall timeout', async () => {
    const marker = `sleeper-${randomBytes(6).toString('hex')}`
    let seenWhileRunning: number[] = []
    const result = await runner.run({
      // "started" only once the sleeper shows its marker (builtins only, so no other process
      // carries the marker in its argv).
      files: {
        'main.sh': `(exec -a "${marker}" sleep 1000) &
until read -r -d '' argv0 < /proc/$!/cmdline; [[ $argv0 == "${marker}" ]]; do sleep 0.01; done
echo started
sleep 60
`,
      },
      manifest: { timeout: 1 },
      onOutput: (_stream, chunk) => {
        if (chunk.toString().includes('started')) seenWhileRunning = hostProcessesWith(marker)
      },
    })
    expect(result.termination).toBe('timeout')
    expect(result.exitCode).toBeNull()
    // The background sleeper existed on the host while the job ran, and is gone now.
    expect(seenWhileRunning.length).toBeGreaterThan(0)
    expect(hostProcessesWith(marker)).toEqual([])
  })

  it('gives a job that fills /work ENOSPC at workBytes, and the job exits normally', async () => {
    const result = await runner.run({
      files: pythonJob(`
written = 0
try:
    with open('/work/fill', 'wb') as f:
        while True:
            f.write(b'\\0' * (1 << 20))
            f.flush()
            written += 1 << 20
except OSError as error:
    outcome = errno.errorcode.get(error.errno)
report(outcome=outcome, written=written)`),
      limits: { workBytes: 8 * mib },
    })
    expect(result.termination).toBe('exited')
    expect(result.exitCode).toBe(0)
    const report = result.report<{ outcome: string; written: number }>()
    expect(report.outcome).toBe('ENOSPC')
    expect(report.written).toBeLessThanOrEqual(8 * mib)
  })

  it('caps the entries a job can leave in /work (hard links count), and the next job gets a clean one', async () => {
    const result = await runner.run({
      files: pythonJob(`
open('/work/a', 'w').close()
made = 0
outcome = None
try:
    for i in range(1_000_000):
        os.link('/work/a', '/work/l%d' % i)
        made += 1
except OSError as error:
    outcome = errno.errorcode.get(error.errno)
report(outcome=outcome, made=made)`),
    })
    expect(result.exitCode).toBe(0)
    const report = result.report<{ outcome: string; made: number }>()
    expect(report.outcome).toBe('ENOSPC')
    expect(report.made).toBeLessThan(65_536)
    expect(report.made).toBeGreaterThan(60_000)
    // Collection stops at its own caps; the workspace is dropped whole rather than emptied.
    expect(result.outputs.length).toBe(1000)
    expect(result.outputsTruncated).toBe(true)
    const next = await runner.run({ files: { 'main.sh': 'ls -A /work | wc -l' } })
    expect(next.out.trim()).toBe('1')
  })

  it('caps captured stdout at outputCaptureBytes and marks it truncated (1 GiB printed)', async () => {
    const result = await runner.run({
      files: pythonJob(`
chunk = b'y' * (1 << 20)
for _ in range(1024):
    sys.stdout.buffer.write(chunk)
sys.stdout.buffer.flush()
sys.stderr.write('done\\n')`),
      manifest: { timeout: 60 },
      limits: { outputCaptureBytes: mib },
    })
    expect(result.termination).toBe('exited')
    expect(result.exitCode).toBe(0)
    expect(result.stdoutTruncated).toBe(true)
    expect(result.stdout.length).toBe(mib)
    expect(result.err).toBe('done\n')
    expect(result.stderrTruncated).toBe(false)
  })

  it("keeps the output where the caller says and returns that as the result (the local mode's log: a job's output kept once)", async () => {
    const written = { stdout: [] as Buffer[], stderr: [] as Buffer[] }
    const keeper: OutputKeeper = {
      append: (stream, chunk) => written[stream].push(Buffer.from(chunk)),
      // The keeper's word on truncation, not a capture of runJob's own.
      snapshot: () => ({ stdout: Buffer.concat(written.stdout), stderr: Buffer.concat(written.stderr), stdoutTruncated: false, stderrTruncated: true }),
    }
    const result = await runner.run({ files: { 'main.sh': 'echo out; echo err >&2' }, output: keeper })
    expect(result.stdout.toString()).toBe('out\n')
    expect(result.stderr.toString()).toBe('err\n')
    expect(result.stderrTruncated).toBe(true)
  })
})

describe('bundles and entrypoints', () => {
  /** A bundle with main.py and a character device: packFiles cannot make one, so tar-stream does. */
  async function deviceBundle(): Promise<Buffer> {
    const pack = tar.pack()
    pack.entry({ name: 'main.py' }, 'print(1)\n')
    pack.entry({ name: 'mem', type: 'character-device', devmajor: 1, devminor: 1 })
    pack.finalize()
    const chunks: Buffer[] = []
    for await (const chunk of pack) chunks.push(chunk as Buffer)
    return gzipSync(Buffer.concat(chunks))
  }

  /** The SandboxError a run throws (a bad bundle or entrypoint is refused before anything runs). */
  async function refusal(parameters: JobRunParameters): Promise<SandboxError> {
    const error = await runner.run(parameters).then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(error).toBeInstanceOf(SandboxError)
    return error as SandboxError
  }

  const unsafe: Array<[string, () => Promise<Uint8Array>]> = [
    ['a "../" entry', () => packFiles({ 'main.py': 'print(1)', '../escaped.txt': 'x' })],
    ['an absolute path', () => packFiles({ 'main.py': 'print(1)', '/tmp/escaped.txt': 'x' })],
    ['a symlink out of the bundle', () => packFiles({ 'main.py': 'print(1)', etc: { symlink: '../../../etc' } })],
    ['a device node', deviceBundle],
  ]

  it('refuses a bundle that is not gzip with BUNDLE_INVALID', async () => {
    const error = await refusal({ files: { 'main.py': '' }, bundle: Buffer.from('print("not a tarball")\n') })
    expect(error.code).toBe('BUNDLE_INVALID')
    expect(error.isUserError).toBe(true)
  })

  it.each(unsafe)('refuses a bundle with %s with BUNDLE_UNSAFE_ENTRY', async (_name, bundle) => {
    const error = await refusal({ files: { 'main.py': '' }, bundle: await bundle() })
    expect(error.code).toBe('BUNDLE_UNSAFE_ENTRY')
    expect(error.isUserError).toBe(true)
  })

  it('refuses an entrypoint that is not in the bundle with ENTRYPOINT_MISSING', async () => {
    const error = await refusal({ files: { 'main.py': 'print(1)' }, manifest: { entrypoint: 'missing.py' } })
    expect(error.code).toBe('ENTRYPOINT_MISSING')
    expect(error.isUserError).toBe(true)
  })
})

describe('interpreters and exits', () => {
  const hello: Array<[InterpreterName, string, string, Record<string, unknown>]> = [
    ['python3', 'main.py', 'print("hello from python3")', {}],
    ['node', 'main.js', 'console.log("hello from node")', {}],
    ['bash', 'main.sh', 'echo "hello from bash"', {}],
    ['sh', 'main.sh', 'echo "hello from sh"', { interpreter: 'sh' }],
    ['ruby', 'main.rb', 'puts "hello from ruby"', {}],
    ['Rscript', 'main.R', 'cat("hello from Rscript\\n")', {}],
    ['perl', 'main.pl', 'print "hello from perl\\n";', {}],
    ['php', 'main.php', '<?php echo "hello from php\\n";', {}],
  ]

  it.for(hello)('runs %s', async ([name, file, code, manifest], context) => {
    requireHost(context, probeInterpreter(name))
    const result = await runner.run({ files: { [file]: code }, manifest: { memory_mb: 256, ...manifest } })
    expect(result.err).toBe('')
    expect(result.out).toBe(`hello from ${name}\n`)
    expect(result.termination).toBe('exited')
    expect(result.exitCode).toBe(0)
  })

  it('propagates the exit code', async () => {
    const result = await runner.run({ files: { 'main.py': 'import sys\nsys.exit(3)\n' } })
    expect(result.termination).toBe('exited')
    expect(result.exitCode).toBe(3)
  })

  it('reports a job killed by a signal as signaled:N', async () => {
    const result = await runner.run({ files: { 'main.py': 'import os\nos.kill(os.getpid(), 9)\n' } })
    expect(result.termination).toBe('signaled:9')
    expect(result.exitCode).toBeNull()
  })

  it('cancels a running job through its AbortSignal', async () => {
    const controller = new AbortController()
    const result = await runner.run({
      files: { 'main.py': 'import time\nprint("started", flush=True)\ntime.sleep(60)\nprint("finished")\n' },
      manifest: { timeout: 60 },
      signal: controller.signal,
      onOutput: (_stream, chunk) => {
        if (chunk.toString().includes('started')) controller.abort()
      },
    })
    expect(result.termination).toBe('cancelled')
    expect(result.out).toContain('started')
    expect(result.out).not.toContain('finished')
  })
})

describe('output files', () => {
  it('stores a sparse output by its real bytes, and serves every byte of it', async () => {
    const result = await runner.run({ files: { 'main.sh': 'truncate -s 99M big.bin; printf end >> big.bin' } })
    expect(result.exitCode).toBe(0)
    const [big] = result.outputs
    expect(big).toMatchObject({ path: 'big.bin', sizeBytes: 99 * mib + 3 })
    const expected = createHash('sha256').update(Buffer.alloc(99 * mib)).update('end').digest('hex')
    expect(big!.sha256).toBe(expected)
    // The copy the service keeps (RAM-backed) holds the last page, not 99 MiB of zeros.
    const stored = statSync(big!.hostPath)
    expect(stored.size).toBe(99 * mib + 3)
    expect(stored.blocks * 512).toBeLessThan(mib)
    expect(createHash('sha256').update(readFileSync(big!.hostPath)).digest('hex')).toBe(expected)
  })

  it('collects the files matching the output globs', async () => {
    const result = await runner.run({
      files: pythonJob(`
os.makedirs('results', exist_ok=True)
open('results/a.txt', 'w').write('alpha')
open('results/b.log', 'w').write('beta')
open('other.txt', 'w').write('other')`),
      manifest: { outputs: ['results/*.txt'] },
    })
    expect(result.termination).toBe('exited')
    expect(result.outputs.map((o) => o.path)).toEqual(['results/a.txt'])
    const [file] = result.outputs
    expect(readFileSync(file!.hostPath, 'utf8')).toBe('alpha')
    expect(file!.sizeBytes).toBe(5)
  })

  it("collects every new file by default, not the bundle's own files", async () => {
    const result = await runner.run({
      files: pythonJob(
        `
os.makedirs('out/deep', exist_ok=True)
open('out/deep/new.txt', 'w').write('new')
open('fresh.csv', 'w').write('a,b\\n')`,
        { 'input.txt': 'bundle data', 'lib/helper.py': 'x = 1\n' },
      ),
    })
    expect(result.termination).toBe('exited')
    expect(result.outputs.map((o) => o.path).sort()).toEqual(['fresh.csv', 'out/deep/new.txt'])
    const byPath = new Map(result.outputs.map((o) => [o.path, o]))
    expect(readFileSync(byPath.get('out/deep/new.txt')!.hostPath, 'utf8')).toBe('new')
  })
})
