// Sustained market throughput on the `sandrun dev` network with timed blocks (anvil interval
// mining): --concurrency clients submit trivial 3-replica jobs back to back for --seconds, each job
// then followed until verified. Prints jobs/s submitted (accepted), posted on chain and verified in that window,
// gas per job from the window's blocks (the batched postJobs path), block fullness, load average and
// the CPU seconds of anvil, the gateway and the workers (sandbox runs included) per verified job.
// Run: node --import tsx bench/network/throughput.ts [--block-time 2] [--workers 12] [--seconds 120] [--concurrency 64]
import '../../node/promiseWithResolvers.ts'
import { parseArgs } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { startDevNetwork } from '../../node/dev/startDevNetwork.ts'
import { childProcessCpu } from './childProcessCpu.ts'

const { values } = parseArgs({
  options: { 'block-time': { type: 'string' }, workers: { type: 'string' }, seconds: { type: 'string' }, concurrency: { type: 'string' } },
})
const blockTime = Number(values['block-time'] ?? 2)
const workers = Number(values.workers ?? 12)
const seconds = Number(values.seconds ?? 120)
const concurrency = Number(values.concurrency ?? 64)

const dataDir = await mkdtemp(path.join(tmpdir(), 'sandrun-bench-throughput-'))
const network = await startDevNetwork({
  workers,
  dataDir,
  port: 0,
  host: '127.0.0.1',
  blockTime,
  // Twelve workers starting at once on two busy cores take longer than one.
  readyTimeoutMs: 300_000,
  gatewayArgs: ['--concurrent-jobs', '100000', '--jobs-per-hour', '10000000', '--cpu-seconds-per-minute', '10000000', '--max-connections-per-address', '1000'],
  onProgress: (message) => console.error(`bench: ${message}`),
  onLog: (name, line) => {
    if (process.env.BENCH_LOG) console.error(`${name}: ${line}`)
  },
})

async function rpc<T>(method: string, params: unknown[] = []): Promise<T> {
  // A loaded machine's anvil can take more than fetch's 10 s to accept: the run's figures are worth a retry.
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(network.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      })
      return ((await response.json()) as { result: T }).result
    } catch (error) {
      if (attempt >= 5) throw error
      console.error(`bench: ${method} failed (${(error as Error).message}); trying again`)
    }
  }
}

/** CPU seconds of each process this bench started, with the children each has reaped (sandbox runs). */
async function cpuByRole(): Promise<Map<string, number>> {
  const byRole = new Map<string, number>()
  for (const { args, seconds } of await childProcessCpu()) {
    const cmdline = args.join(' ')
    const role = cmdline.includes('anvil') ? 'anvil' : cmdline.includes(' gateway') ? 'gateway' : cmdline.includes(' worker') ? 'workers' : 'other'
    byRole.set(role, (byRole.get(role) ?? 0) + seconds)
  }
  return byRole
}

const bundle = await packFiles({ 'main.py': 'print("bench")\n' })
let stopping = false
const submittedAt: number[] = []
const verifiedAt: number[] = []
const refused = new Map<string, number>()
const failed = new Map<string, number>()

async function submit(): Promise<string | null> {
  const form = new FormData()
  form.append('files', new Blob([bundle]), 'job.tar.gz')
  form.append('manifest', JSON.stringify({ entrypoint: 'main.py' }))
  // A connection the gateway reset under load is counted like a refusal and tried again, not the run's end.
  const response = await fetch(`${network.gatewayUrl}/submit`, { method: 'POST', body: form }).catch((error: unknown) => {
    const code = (error as { cause?: { code?: string } }).cause?.code ?? 'FETCH_FAILED'
    refused.set(code, (refused.get(code) ?? 0) + 1)
    return null
  })
  if (!response) return null
  const body = (await response.json().catch(() => ({}))) as { job_id?: string; error?: { code?: string } }
  if (body.job_id) return body.job_id
  const code = body.error?.code ?? String(response.status)
  refused.set(code, (refused.get(code) ?? 0) + 1)
  return null
}

// One status reader for all jobs, a few requests at a time: a long poll per job would hold more
// connections than the gateway lets one address open (--max-connections-per-address, 10 new a second).
const pending = new Set<string>()
async function followAll(): Promise<void> {
  while (!stopping) {
    const ids = [...pending]
    for (let i = 0; i < ids.length; i += 8) {
      await Promise.all(
        ids.slice(i, i + 8).map(async (jobId) => {
          const response = await fetch(`${network.gatewayUrl}/status/${jobId}`).catch(() => null)
          if (!response?.ok) return
          const status = (await response.json()) as { status: string; verification?: { result_verified: boolean; state?: string } }
          if (status.status === 'completed' && status.verification?.result_verified) {
            verifiedAt.push(performance.now())
            pending.delete(jobId)
          } else if (status.status === 'failed') {
            // A job nobody took in its window (workers saturated) is a result of the run, not its end.
            const state = status.verification?.state ?? 'failed'
            failed.set(state, (failed.get(state) ?? 0) + 1)
            pending.delete(jobId)
          }
        }),
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

async function follow(jobId: string): Promise<void> {
  pending.add(jobId)
  while (pending.has(jobId)) await new Promise((resolve) => setTimeout(resolve, 100))
}

async function submitter(until: number): Promise<void> {
  while (performance.now() < until) {
    const jobId = await submit()
    if (jobId === null) {
      // Refused (too many jobs open): the gateway says why; try again shortly.
      await new Promise((resolve) => setTimeout(resolve, 250))
      continue
    }
    submittedAt.push(performance.now())
    pending.add(jobId)
  }
}

/** Gas of the market's transactions in blocks [from, to], by function, and per job posted. */
async function gasBetween(from: number, to: number) {
  const selectors = new Map<string, string>()
  const { decodeFunctionData, toFunctionSelector } = await import('viem')
  const { sandrunMarketAbi } = await import('../../contracts/abi.ts')
  for (const item of sandrunMarketAbi) if (item.type === 'function') selectors.set(toFunctionSelector(item), item.name)
  // items: jobs in a postJobs, commits in a commitMany, reveals in a revealMany; 1 for the others.
  const byFunction = new Map<string, { calls: number; gas: number; items: number }>()
  let blockGas = 0
  let gasLimit = 0
  let jobsPosted = 0
  const market = network.deployment.market.toLowerCase()
  for (let n = from; n <= to; n++) {
    const hex = `0x${n.toString(16)}`
    const [block, receipts] = await Promise.all([
      rpc<{ gasUsed: string; gasLimit: string; transactions: Array<{ hash: string; to: string | null; input: string }> }>('eth_getBlockByNumber', [hex, true]),
      rpc<Array<{ transactionHash: string; gasUsed: string; logs: Array<{ topics: string[] }> }>>('eth_getBlockReceipts', [hex]),
    ])
    blockGas += Number(block.gasUsed)
    gasLimit = Number(block.gasLimit)
    for (const tx of block.transactions) {
      if (tx.to?.toLowerCase() !== market) continue
      const name = selectors.get(tx.input.slice(0, 10)) ?? 'other'
      const receipt = receipts.find((r) => r.transactionHash === tx.hash)!
      const entry = byFunction.get(name) ?? { calls: 0, gas: 0, items: 0 }
      entry.calls++
      entry.gas += Number(receipt.gasUsed)
      const batched = name === 'postJobs' || name === 'commitMany' || name === 'revealMany'
      entry.items += batched ? (decodeFunctionData({ abi: sandrunMarketAbi, data: tx.input as `0x${string}` }).args[0] as unknown[]).length : 1
      byFunction.set(name, entry)
      if (name === 'postJobs' || name === 'postJob') jobsPosted += receipt.logs.length
    }
  }
  return { byFunction, blockGas, gasLimit, blocks: to - from + 1, jobsPosted }
}

try {
  // Warm-up: first sandbox starts, first connections, the workers' stake seen by all.
  const warm = await submit()
  if (warm === null) throw new Error(`warm-up submission refused: ${JSON.stringify([...refused])}`)
  const reader = followAll()
  await follow(warm)
  const cpuBefore = await cpuByRole()
  const fromBlock = Number(await rpc<string>('eth_blockNumber')) + 1
  const started = performance.now()
  const until = started + seconds * 1000
  const loads: number[] = []
  const sampler = setInterval(() => {
    loads.push(loadavg()[0]!)
    console.error(
      `bench: ${((performance.now() - started) / 1000).toFixed(0)} s: ${submittedAt.length} submitted, ${verifiedAt.length} verified, load ${loadavg()[0]!.toFixed(2)}`,
    )
  }, 10_000)
  await Promise.all(Array.from({ length: concurrency }, () => submitter(until)))
  clearInterval(sampler)
  const toBlock = Number(await rpc<string>('eth_blockNumber'))
  const cpuAfter = await cpuByRole()
  const inWindow = (times: number[]) => times.filter((t) => t <= until).length
  const submitted = inWindow(submittedAt)
  const verified = inWindow(verifiedAt)
  const gas = await gasBetween(fromBlock, toBlock)
  console.log(`throughput, a block every ${blockTime} s, ${workers} workers, ${concurrency} submitting clients, ${seconds} s:`)
  // Accepted is what the gateway answered 200 to: since the gateway holds jobs while the workers
  // have no room (postAdmission.ts), posted on chain is counted from the window's blocks.
  console.log(
    `  submitted (accepted): ${(submitted / seconds).toFixed(2)} jobs/s (${submitted} jobs); posted on chain: ${(gas.jobsPosted / seconds).toFixed(2)} jobs/s (${gas.jobsPosted} jobs); verified: ${(verified / seconds).toFixed(2)} jobs/s (${verified} jobs)`,
  )
  console.log(
    `  refused submissions: ${JSON.stringify(Object.fromEntries(refused))}; failed jobs by chain state: ${JSON.stringify(Object.fromEntries(failed))}`,
  )
  console.log(`  load average (1 min) during the run: ${loads.map((l) => l.toFixed(2)).join(', ')}`)
  console.log(
    `  blocks ${fromBlock}-${toBlock} (${gas.blocks}): gas used ${(gas.blockGas / gas.blocks / 1e6).toFixed(2)} M per block of ${(gas.gasLimit / 1e6).toFixed(0)} M limit; ${gas.jobsPosted} jobs posted`,
  )
  for (const [name, { calls, gas: used, items }] of gas.byFunction) {
    console.log(`  ${name}: ${calls} transactions, ${Math.round(used / calls)} gas each${items > calls ? `, ${(items / calls).toFixed(1)} items each, ${Math.round(used / items)} gas per item` : ''}`)
  }
  const posts = ['postJobs', 'postJob'].reduce((sum, name) => sum + (gas.byFunction.get(name)?.gas ?? 0), 0)
  if (gas.jobsPosted > 0) console.log(`  post gas per job: ${Math.round(posts / gas.jobsPosted)}`)
  const cpu = [...cpuAfter].map(([role, total]) => `${role} ${(total - (cpuBefore.get(role) ?? 0)).toFixed(1)} s`)
  console.log(
    `  CPU over the run: ${cpu.join(', ')}; per verified job: ${verified > 0 ? [...cpuAfter].map(([role, total]) => `${role} ${((1000 * (total - (cpuBefore.get(role) ?? 0))) / verified).toFixed(0)} ms`).join(', ') : '-'}`,
  )
  stopping = true
  await reader
} finally {
  stopping = true
  await network.stop()
  await rm(dataDir, { recursive: true, force: true })
}
