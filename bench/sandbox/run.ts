// Benchmark (not a test): sandbox start-up overhead and trivial-job throughput.
//   node --import tsx bench/sandbox/run.ts [--runs 200] [--jobs 1000] [--warm 0]
// For each command: N bare runs (spawned from Node with the same stdio capture) and N sandboxed runs
// (sandbox.runJob with the same argv), p50/p99 of each and of the added overhead. Then trivial
// jobs per second through the full job path (bundle, extraction, sandbox, cleanup) at 2 and 8 in
// parallel.
import '../../node/promiseWithResolvers.ts'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { createSandbox } from '../../sandbox/index.ts'
import { parseManifest } from '../../sandbox/manifest.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' }, jobs: { type: 'string', default: '1000' }, warm: { type: 'string' } } })
const runs = Number(values.runs)
const throughputJobs = Number(values.jobs)

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

function bare(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } })
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

const fmt = (n: number) => n.toFixed(2).padStart(7)
console.log(`sandrun sandbox benchmark — ${os.cpus().length} cores, ${os.cpus()[0]?.model}, Node ${process.version}`)
console.log(`isolation: ${sandbox.capabilities.isolation}, cgroups ${sandbox.capabilities.cgroupVersion}, bwrap ${sandbox.capabilities.bwrapVersion}, launcher ${sandbox.capabilities.processLauncher}, pre-started sandboxes ${sandbox.capabilities.warmSandboxes}`)
console.log(`\nstart-up, ${runs} sequential runs each (ms)`)
console.log('command              bare p50  bare p99   sbx p50   sbx p99  added p50  added p99')
for (const argv of [['/usr/bin/true'], ['/usr/bin/bash', '-c', ':'], ['/usr/bin/python3', '-c', 'pass']]) {
  const b = await time(() => bare(argv), runs)
  const s = await time(() => sandboxed(argv), runs)
  const name = argv.join(' ').replace('/usr/bin/', '').padEnd(20)
  console.log(
    `${name} ${fmt(percentile(b, 50))}  ${fmt(percentile(b, 99))}  ${fmt(percentile(s, 50))}  ${fmt(percentile(s, 99))}  ${fmt(percentile(s, 50) - percentile(b, 50))}  ${fmt(percentile(s, 99) - percentile(b, 99))}`,
  )
}

console.log(`\nthroughput, ${throughputJobs} trivial jobs (full path: bundle extraction, sandbox, output scan, cleanup)`)
for (const parallel of [1, 2, 8]) {
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < throughputJobs) {
        next++
        const outputDir = path.join(outputRoot, String(++counter))
        const result = await sandbox.runJob({ manifest, bundle: emptyBundle, outputDir })
        if (result.exitCode !== 0) throw new Error(`job exited ${result.exitCode}`)
        rmSync(outputDir, { recursive: true, force: true })
      }
    }),
  )
  const seconds = (performance.now() - start) / 1000
  console.log(`  ${String(parallel).padStart(2)} in parallel: ${(throughputJobs / seconds).toFixed(1)} jobs/s`)
}

await sandbox.close()
rmSync(outputRoot, { recursive: true, force: true })
