// What the chain path alone sustains (issue 15, item 7): a gateway account posting jobs through the
// gateway's own batching poster (jobPoster.ts: one postJobs per block) and 12 worker accounts
// committing and revealing through the worker's own chain layer (workerChain.ts: commitMany /
// revealMany batches on pipelined nonces, accountTransactions.ts), on anvil mining a block every
// --block-time seconds. No sandbox runs, no libp2p, no HTTP: what is measured is whether the
// contracts, the block gas limit and the transaction pipeline carry the target, apart from the CPU a
// network of processes spends around them (bench/network/throughput.ts measures that whole).
// Each worker commits when its stake's ticket is drawn (roundEligibility, the contract's own rule);
// of the workers drawn for a job, the first `replicas` commit (a real worker sees every worker's
// ticket too: tickets are public), all with the same result, and each reveals once the round is full.
// The reveal that completes the round settles the job (JobFinalized).
// Offered load: --rate jobs a second for --warmup + --seconds; posts and settlements mined in the
// last --seconds are counted.
// Run: node --import tsx bench/chain/settlement.ts [--block-time 2] [--workers 12] [--rate 20] [--seconds 120] [--warmup 30]
import '../../node/promiseWithResolvers.ts'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { keccak256, parseEther, parseEventLogs, toHex, type Hash, type Hex, type TransactionReceipt } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { startAnvil } from '../../node/chain/anvil.ts'
import { deployMarket } from '../../node/chain/deployMarket.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { createMarketClient } from '../../node/chain/marketClient.ts'
import { defaultMarketParams } from '../../node/chain/marketParams.ts'
import { randomSalt } from '../../node/chain/seal.ts'
import { jobPoster } from '../../node/backends/market/jobPoster.ts'
import { roundEligibility } from '../../node/market/worker/roundEligibility.ts'
import { workerChain, type WorkerChain } from '../../node/market/worker/workerChain.ts'
import { type ChainJobId, majorityQuorum, parseSpecHash } from '../../verifier/index.ts'
import { childProcessCpu } from '../network/childProcessCpu.ts'

const { values } = parseArgs({
  options: { 'block-time': { type: 'string' }, workers: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, warmup: { type: 'string' }, replicas: { type: 'string' } },
})
const blockTime = Number(values['block-time'] ?? 2)
const workers = Number(values.workers ?? 12)
const rate = Number(values.rate ?? 20)
const seconds = Number(values.seconds ?? 120)
const warmup = Number(values.warmup ?? 30)
const replicas = Number(values.replicas ?? 3)
// The dev network's windows (node/dev/startDevNetwork.ts).
const commitWindow = 30
const revealWindow = 30
const reward = parseEther('0.001')

const progress = (message: string): void => void console.error(`bench: ${message}`)
const anvil = await startAnvil({ blockTime, accounts: workers + 2 })
const signers = devAccounts(workers + 2)
const deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: signers[0]!, params: { ...defaultMarketParams, minCommitWindow: 5n, minRevealWindow: 5n } })
const client = (index: number) => createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account: signers[index]! })
const gateway = client(1)
const chainId = await gateway.publicClient.getChainId()
const chains: WorkerChain[] = Array.from({ length: workers }, (_, i) => workerChain({ client: client(i + 2), chainId }))
progress(`anvil (a block every ${blockTime} s) and the market up; staking ${workers} workers`)
await Promise.all(chains.map((chain) => chain.stake({ value: parseEther('100') })))
const accounts = new Map(await Promise.all(chains.map(async (chain) => [chain.address, await gateway.getAccount(chain.address)] as const)))
const totals = await gateway.getTotals()
const poster = jobPoster({ market: gateway })

type Tx = { function: string; gasUsed: bigint; items: number }
const txs = new Map<Hash, Tx>()
const noteTx = (receipt: TransactionReceipt, fn: string, items: number): void => void txs.set(receipt.transactionHash, { function: fn, gasUsed: receipt.gasUsed, items })
const counted = { offered: 0, posted: 0, verified: 0, failed: new Map<string, number>() }
const postBlocks: bigint[] = []
const settleDelays: number[] = []
const fail = (reason: string): void => void counted.failed.set(reason, (counted.failed.get(reason) ?? 0) + 1)
let windowStart = Number.POSITIVE_INFINITY
let windowEnd = Number.POSITIVE_INFINITY
const inWindow = (): boolean => {
  const now = performance.now()
  return now >= windowStart && now < windowEnd
}

/** Waits until the block the next transaction lands in is past `number` and at or after chain time `timestamp`. */
async function untilNextBlock(chain: WorkerChain, { number = 0n, timestamp = 0 }: { number?: bigint; timestamp?: number }): Promise<{ number: bigint; timestamp: number }> {
  for (;;) {
    const next = await chain.nextBlock(250)
    if (next.number > number && next.timestamp >= timestamp) return next
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** One job from post to settlement. */
async function runJob(n: number): Promise<void> {
  const specHash = parseSpecHash(keccak256(toHex(`settlement bench job ${n} ${Math.random()}`)))
  const posted = await poster.post({ specHash, replicas, quorum: majorityQuorum(replicas), commitWindow, revealWindow, reward })
  const batch = parseEventLogs({ abi: sandrunMarketAbi, logs: posted.receipt.logs, eventName: 'JobPosted' }).length
  noteTx(posted.receipt, batch > 1 ? 'postJobs' : 'postJob', batch)
  if (inWindow()) {
    counted.posted++
    postBlocks.push(posted.receipt.blockNumber)
  }
  const jobId: ChainJobId = posted.jobId
  const job = await gateway.getJob(jobId)
  const reader = chains[0]!
  const next = await untilNextBlock(reader, { number: job.seedBlock })
  const drawn = await Promise.all(
    chains.map(async (chain) => ({
      chain,
      eligibility: await roundEligibility({ job, account: accounts.get(chain.address)!, totals, worker: chain.address, nextBlock: next.number, blockHash: (number) => reader.blockHash(number) }),
    })),
  )
  const committee = drawn
    .flatMap(({ chain, eligibility }) => (eligibility.drawn ? [{ chain, commitFrom: eligibility.commitFrom }] : []))
    .sort((a, b) => a.commitFrom - b.commitFrom)
    .slice(0, replicas)
  if (committee.length < replicas) return fail('too few workers drawn in the window')
  const resultRoot: Hex = keccak256(toHex(`result of ${jobId}`))
  const salts = committee.map(() => randomSalt())
  try {
    await Promise.all(
      committee.map(async ({ chain, commitFrom }, i) => {
        await untilNextBlock(chain, { timestamp: commitFrom })
        const { receipt } = await chain.commit({ jobId, resultRoot, salt: salts[i]!, deadline: job.commitDeadline })
        noteTx(receipt, ...itemsOf(receipt, 'SlotCommitted'))
      }),
    )
  } catch (error) {
    return fail(`commit: ${(error as Error).message.split('\n')[0]}`)
  }
  let settledIn: TransactionReceipt | null = null
  try {
    await Promise.all(
      committee.map(async ({ chain }, i) => {
        const { receipt } = await chain.reveal({ jobId, resultRoot, salt: salts[i]!, deadline: job.commitDeadline + revealWindow })
        noteTx(receipt, ...itemsOf(receipt, 'SlotRevealed'))
        const finalized = parseEventLogs({ abi: sandrunMarketAbi, logs: receipt.logs, eventName: 'JobFinalized' }).find((event) => event.args.jobId === BigInt(jobId))
        if (finalized) settledIn = receipt
      }),
    )
  } catch (error) {
    return fail(`reveal: ${(error as Error).message.split('\n')[0]}`)
  }
  if (settledIn === null) return fail('no JobFinalized after every reveal')
  if (inWindow()) {
    counted.verified++
    settleDelays.push(Number((settledIn as TransactionReceipt).blockNumber - posted.receipt.blockNumber))
  }
}

/** A commit or reveal receipt: the function (batched or not) and how many items it carried. */
function itemsOf(receipt: TransactionReceipt, event: 'SlotCommitted' | 'SlotRevealed'): [string, number] {
  const items = parseEventLogs({ abi: sandrunMarketAbi, logs: receipt.logs, eventName: [event, 'BatchItemSkipped'] }).length
  const name = event === 'SlotCommitted' ? 'commit' : 'reveal'
  return items > 1 ? [`${name}Many`, items] : [name, 1]
}

function cpuSeconds(pid: 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}
/** CPU seconds of anvil (this process's child). */
async function anvilCpu(): Promise<number> {
  const children = await childProcessCpu()
  return children.filter(({ args }) => args[0]?.endsWith('anvil')).reduce((sum, child) => sum + child.seconds, 0)
}

progress(`offering ${rate} jobs/s for ${warmup} s of warm-up, then ${seconds} s counted`)
const started = performance.now()
windowStart = started + warmup * 1000
windowEnd = windowStart + seconds * 1000
const jobs: Promise<void>[] = []
let cpuAtStart = { self: 0, anvil: 0 }
let blockAtStart = 0n
let loadMax = 0
const ticker = setInterval(() => {
  const elapsed = (performance.now() - started) / 1000
  loadMax = Math.max(loadMax, loadavg()[0]!)
  progress(`${elapsed.toFixed(0)} s: ${counted.offered} offered, ${counted.posted} posted / ${counted.verified} verified in the window, ${[...counted.failed.values()].reduce((a, b) => a + b, 0)} failed`)
}, 10_000)
// Offered in steps of 100 ms, as clients arrive.
for (let step = 0; performance.now() < windowEnd; step++) {
  if (blockAtStart === 0n && performance.now() >= windowStart) {
    cpuAtStart = { self: cpuSeconds('self'), anvil: await anvilCpu() }
    blockAtStart = await gateway.publicClient.getBlockNumber()
  }
  const due = Math.floor(((step + 1) * rate) / 10) - Math.floor((step * rate) / 10)
  for (let i = 0; i < due; i++) jobs.push(runJob(counted.offered++).catch((error: unknown) => fail(`error: ${(error as Error).message.split('\n')[0]}`)))
  const wait = started + (step + 1) * 100 - performance.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
}
const cpu = { self: cpuSeconds('self') - cpuAtStart.self, anvil: (await anvilCpu()) - cpuAtStart.anvil }
const blockAtEnd = await gateway.publicClient.getBlockNumber()
progress(`window over; letting the ${jobs.length} jobs in flight finish`)
await Promise.all(jobs)
clearInterval(ticker)

// Gas: every transaction's gas spread over the items it carried; block fullness from the window's blocks.
const gasByFunction = new Map<string, { gas: bigint; items: number; txs: number }>()
for (const tx of txs.values()) {
  const entry = gasByFunction.get(tx.function) ?? { gas: 0n, items: 0, txs: 0 }
  entry.gas += tx.gasUsed
  entry.items += tx.items
  entry.txs++
  gasByFunction.set(tx.function, entry)
}
const perItem = (fn: string): number => {
  const entry = gasByFunction.get(fn)
  return entry ? Number(entry.gas) / entry.items : 0
}
let gasInWindow = 0n
let gasLimit = 0n
for (let number = blockAtStart + 1n; number <= blockAtEnd; number++) {
  const block = await gateway.publicClient.getBlock({ blockNumber: number })
  gasInWindow += block.gasUsed
  gasLimit = block.gasLimit
}
const blocks = Number(blockAtEnd - blockAtStart)
const sorted = [...settleDelays].sort((a, b) => a - b)
/** Gas per item over both forms of a step (alone and batched). */
const perStepItem = (fns: string[]): number => {
  const entries = fns.flatMap((fn) => gasByFunction.get(fn) ?? [])
  const items = entries.reduce((sum, entry) => sum + entry.items, 0)
  return items === 0 ? 0 : Number(entries.reduce((sum, entry) => sum + entry.gas, 0n)) / items
}
const gasPerJob = perStepItem(['postJob', 'postJobs']) + replicas * (perStepItem(['commit', 'commitMany']) + perStepItem(['reveal', 'revealMany']))
const verifiedAll = settleDelays.length
console.log(
  [
    `Settlement path on ${blockTime}-second blocks: ${workers} worker accounts, one gateway account, ${rate} jobs/s offered, ${replicas} replicas, ${seconds} s counted after ${warmup} s (anvil ${anvil.rpcUrl}; load average max ${loadMax.toFixed(1)})`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| posted on chain, jobs/s | ${(counted.posted / seconds).toFixed(2)} (${counted.posted} jobs) |`,
    `| verified (JobFinalized), jobs/s | ${(counted.verified / seconds).toFixed(2)} (${counted.verified} jobs) |`,
    `| failed (all jobs offered) | ${[...counted.failed.entries()].map(([reason, count]) => `${count} ${reason}`).join('; ') || '0'} |`,
    `| blocks from post to settlement, p50 / p90 / max | ${sorted[Math.floor(verifiedAll * 0.5)] ?? '-'} / ${sorted[Math.floor(verifiedAll * 0.9)] ?? '-'} / ${sorted.at(-1) ?? '-'} |`,
    ...[...gasByFunction.entries()].map(([fn, entry]) => `| ${fn}: transactions / items per transaction / gas per item | ${entry.txs} / ${(entry.items / entry.txs).toFixed(1)} / ${perItem(fn).toFixed(0)} |`),
    `| gas per verified job (post + ${replicas} commits + ${replicas} reveals, alone and batched as they went) | ${gasPerJob.toFixed(0)} |`,
    `| gas per block in the window (limit ${(Number(gasLimit) / 1e6).toFixed(0)} M) | ${(Number(gasInWindow) / blocks / 1e6).toFixed(2)} M (${((Number(gasInWindow) / blocks / Number(gasLimit)) * 100).toFixed(0)} %) |`,
    `| CPU in the window: this process (13 accounts' clients) / anvil | ${cpu.self.toFixed(1)} s / ${cpu.anvil.toFixed(1)} s |`,
  ].join('\n'),
)
await anvil.stop()
process.exit(0)
