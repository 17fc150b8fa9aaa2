// CPU of an idle `sandrun dev` network: anvil mining timed blocks, one gateway, N workers, no jobs.
// Waits for the network to settle, then reads each process's utime+stime from /proc over
// --seconds and prints CPU seconds per minute for every worker, the gateway and anvil.
// --profile DIR: the nodes run with --cpu-prof, their profiles written to DIR when they stop.
// Run: node --import tsx bench/network/idleWorkers.ts [--block-time 2] [--workers 12] [--seconds 60] [--settle 20] [--profile DIR]
import '../../node/promiseWithResolvers.ts'
import { parseArgs } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { startDevNetwork } from '../../node/dev/startDevNetwork.ts'
import { childProcessCpu } from './childProcessCpu.ts'

const { values } = parseArgs({
  options: {
    'block-time': { type: 'string' },
    workers: { type: 'string' },
    seconds: { type: 'string' },
    settle: { type: 'string' },
    profile: { type: 'string' },
  },
})
const blockTime = Number(values['block-time'] ?? 2)
const workers = Number(values.workers ?? 12)
const seconds = Number(values.seconds ?? 60)
const settle = Number(values.settle ?? 20)
if (values.profile) process.env.SANDRUN_NODE_FLAGS = `--cpu-prof --cpu-prof-dir=${path.resolve(values.profile)}`

const dataDir = await mkdtemp(path.join(tmpdir(), 'sandrun-bench-idle-'))
const network = await startDevNetwork({
  workers,
  dataDir,
  port: 0,
  host: '127.0.0.1',
  blockTime,
  readyTimeoutMs: 300_000,
  onProgress: (message) => console.error(`bench: ${message}`),
})

/** CPU seconds (utime+stime, children reaped included) of each process this bench started, by name. */
async function cpuByProcess(): Promise<Map<string, number>> {
  const byName = new Map<string, number>()
  for (const { pid, args, seconds } of await childProcessCpu()) {
    // Worker data dirs end in worker-N.
    const name = args.some((arg) => arg.includes('anvil')) ? 'anvil' : args.includes('gateway') ? 'gateway' : path.basename(args[args.indexOf('--data-dir') + 1] ?? `pid ${pid}`)
    byName.set(name, seconds)
  }
  return byName
}

try {
  console.error(`bench: network ready; settling ${settle} s, then measuring ${seconds} s`)
  await new Promise((resolve) => setTimeout(resolve, settle * 1000))
  const before = await cpuByProcess()
  const loadBefore = loadavg()[0]!
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  const after = await cpuByProcess()
  const perMinute = (name: string): number => ((after.get(name)! - (before.get(name) ?? 0)) * 60) / seconds
  const workerNames = [...after.keys()].filter((name) => name.startsWith('worker-')).sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)))
  const workerCpu = workerNames.map(perMinute)
  const mean = workerCpu.reduce((sum, value) => sum + value, 0) / workerCpu.length
  console.log(`idle dev network, a block every ${blockTime} s, ${workers} workers, no jobs, ${seconds} s measured after ${settle} s:`)
  console.log(`  CPU s per minute, each worker: ${workerCpu.map((value) => value.toFixed(2)).join(', ')}`)
  console.log(
    `  worker mean ${mean.toFixed(2)} s/min (${((mean / 60) * 100).toFixed(1)} % of a core); all ${workerCpu.length} workers ${((mean * workerCpu.length) / 60).toFixed(2)} cores`,
  )
  console.log(`  gateway ${perMinute('gateway').toFixed(2)} s/min, anvil ${perMinute('anvil').toFixed(2)} s/min`)
  console.log(`  load average (1 min): ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`)
} finally {
  await network.stop()
  await rm(dataDir, { recursive: true, force: true })
}
