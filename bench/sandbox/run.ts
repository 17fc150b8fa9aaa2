// Benchmark (not a test): sandbox start-up overhead and trivial-job throughput.
//   node --import tsx bench/sandbox/run.ts [--runs 200] [--jobs 1000] [--warm 0]
// For each command: N bare runs (spawned from Node with the same stdio capture), N bare bwrap runs
// (bwrap with the same namespaces, nothing of Sandrun: no cgroup, workspace, seccomp or launcher)
// and N sandboxed runs (sandbox.runJob with the same argv), p50/p99 of each, the added overhead,
// and sandboxed / bare bwrap: the ratio that compares hosts of different speeds (a TCG VM against
// this machine). Then trivial jobs per second through the full job path (bundle, extraction,
// sandbox, cleanup) at 1, 2 and 8 in parallel, beside bare bwrap runs per second at the same
// parallelism.
import '../../node/promiseWithResolvers.ts'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { createSandbox } from '../../sandbox/index.ts'
import { systemDirArgs } from '../../sandbox/bwrapArgs.ts'
import { parseManifest } from '../../sandbox/manifest.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' }, jobs: { type: 'string', default: '1000' }, warm: { type: 'string' } } })
const runs = Number(values.runs)
const throughputJobs = Number(values.jobs)

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** bwrap alone, with the namespaces a job gets, as the job user when this is root. */
const bareBwrapArgs = ['--unshare-all', '--die-with-parent', '--new-session', ...systemDirArgs(), '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--']
const asJobUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}

function bare(argv: string[], options: { uid?: number; gid?: number } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' }, ...options })
    child.stdout.on('data', () => {})
    child.stderr.on('data', () => {})
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))))
  })
}

async function time(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  for (let i = 0; i < 10; i++) await fn() // warm-up: page cache, workspace pool
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await fn()
    samples.push(performance.now() - start)
  }
  return samples.sort((a, b) => a - b)
}

// --warm 0: every job sets up its own bwrap (no pre-started sandboxes), for comparison.
const sandbox = await createSandbox(values.warm === undefined ? {} : { warmSandboxes: Number(values.warm) })
const outputRoot = mkdtempSync(path.join(os.tmpdir(), 'sandrun-bench-'))
const emptyBundle = await packFiles({ 'job.sh': 'exit 0\n' })
const manifest = parseManifest({ entrypoint: 'job.sh', interpreter: 'sh' })
let counter = 0
const sandboxed = async (argv: string[]) => {
  const outputDir = path.join(outputRoot, String(++counter))
  const result = await sandbox.runJob({ manifest, bundle: emptyBundle, outputDir, command: argv })
  if (result.exitCode !== 0) throw new Error(`sandboxed ${argv.join(' ')} exited ${result.exitCode} ${result.stderr}`)
  rmSync(outputDir, { recursive: true, force: true })
}

const bareBwrap = (argv: string[]) => bare(['/usr/bin/bwrap', ...bareBwrapArgs, ...argv], asJobUser)
const fmt = (n: number) => n.toFixed(2).padStart(7)
console.log(`sandrun sandbox benchmark — ${os.cpus().length} cores, ${os.cpus()[0]?.model}, Node ${process.version}`)
console.log(`isolation: ${sandbox.capabilities.isolation}, cgroups ${sandbox.capabilities.cgroupVersion}, bwrap ${sandbox.capabilities.bwrapVersion}, launcher ${sandbox.capabilities.processLauncher}, pre-started sandboxes ${sandbox.capabilities.warmSandboxes}`)
console.log(`\nstart-up, ${runs} sequential runs each (ms)`)
console.log('command              bare p50  bare p99  bwrap p50  bwrap p99   sbx p50   sbx p99  added p50  added p99  sbx/bwrap p50')
for (const argv of [['/usr/bin/true'], ['/usr/bin/bash', '-c', ':'], ['/usr/bin/python3', '-c', 'pass']]) {
  const b = await time(() => bare(argv), runs)
  const w = await time(() => bareBwrap(argv), runs)
  const s = await time(() => sandboxed(argv), runs)
  const name = argv.join(' ').replace('/usr/bin/', '').padEnd(20)
  console.log(
    `${name} ${fmt(percentile(b, 50))}  ${fmt(percentile(b, 99))}   ${fmt(percentile(w, 50))}   ${fmt(percentile(w, 99))}  ${fmt(percentile(s, 50))}  ${fmt(percentile(s, 99))}  ${fmt(percentile(s, 50) - percentile(b, 50))}  ${fmt(percentile(s, 99) - percentile(b, 99))}  ${(percentile(s, 50) / percentile(w, 50)).toFixed(2).padStart(13)}`,
  )
}

console.log(`\nthroughput, ${throughputJobs} trivial jobs (full path: bundle extraction, sandbox, output scan, cleanup)`)
/** Runs `one` `total` times, `parallel` at once; returns runs per second. */
async function rate(one: () => Promise<void>, total: number, parallel: number): Promise<number> {
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < total) {
        next++
        await one()
      }
    }),
  )
  return total / ((performance.now() - start) / 1000)
}
const trivialJob = async () => {
  const outputDir = path.join(outputRoot, String(++counter))
  const result = await sandbox.runJob({ manifest, bundle: emptyBundle, outputDir })
  if (result.exitCode !== 0) throw new Error(`job exited ${result.exitCode}`)
  rmSync(outputDir, { recursive: true, force: true })
}
for (const parallel of [1, 2, 8]) {
  const jobs = await rate(trivialJob, throughputJobs, parallel)
  const bwraps = await rate(() => bareBwrap(['/usr/bin/sh', '-c', 'exit 0']), throughputJobs, parallel)
  console.log(`  ${String(parallel).padStart(2)} in parallel: ${jobs.toFixed(1)} jobs/s, bare bwrap ${bwraps.toFixed(1)} runs/s, ratio ${(jobs / bwraps).toFixed(2)}`)
}

await sandbox.close()
rmSync(outputRoot, { recursive: true, force: true })
