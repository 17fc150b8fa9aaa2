// Gas benchmark of the market: gas of each call and the total per verified job (post, N commits,
// N reveals; the last reveal settles) for 1, 3 and 5 replicas, the first job on a fresh deployment
// and the next one; the escalation path of a 3-replica job (2 vs 1, then a 9-slot committee); and a
// withdrawal. Commits are made when each worker is drawn, moving anvil's clock.
// `node --import tsx bench/gas/run.ts`
import { createTestClient, http, keccak256, parseEther, toHex, type Hex, type PublicClient, type TestClient } from 'viem'
import { startAnvil } from '../../node/chain/anvil.ts'
import { deployMarket } from '../../node/chain/deployMarket.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { createMarketClient, type MarketClient } from '../../node/chain/marketClient.ts'
import { defaultMarketParams } from '../../node/chain/marketParams.ts'
import { commitFrom, commitWhenEligible } from '../../test/contracts/commitWhenEligible.ts'
import { randomSalt } from '../../node/chain/seal.ts'
import { type ChainJobId, parseSpecHash } from '../../verifier/index.ts'

const WORKERS = 12
const reward = parseEther('0.01')
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
const avg = (xs: number[]): number => Math.round(sum(xs) / xs.length)
const fmt = (n: number): string => n.toLocaleString('en-US')

type Deployed = { requester: MarketClient; workers: MarketClient[]; publicClient: PublicClient; testClient: TestClient; commit(client: MarketClient, jobId: ChainJobId, resultRoot: Hex): Promise<{ gas: number; salt: Hex }>; stop(): Promise<void> }

async function freshDeployment(): Promise<Deployed> {
  const anvil = await startAnvil({ accounts: WORKERS + 2 })
  const [deployer, requesterAccount, ...workerAccounts] = devAccounts(WORKERS + 2)
  const deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: deployer!, params: defaultMarketParams })
  const client = (account: (typeof workerAccounts)[number]) => createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account, pollingInterval: 50 })
  const requester = client(requesterAccount!)
  const workers = workerAccounts.map(client)
  for (const w of workers) await w.stake({ value: parseEther('10') })
  const testClient = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
  return {
    requester,
    workers,
    publicClient: requester.publicClient,
    testClient,
    async commit(worker, jobId, resultRoot) {
      const { receipt, salt } = await commitWhenEligible({ publicClient: requester.publicClient, testClient, client: worker, jobId, resultRoot })
      return { gas: Number(receipt.gasUsed), salt }
    },
    stop: () => anvil.stop(),
  }
}

/** One unanimous job: post, every worker commits, every worker reveals (the last one settles). */
async function unanimousJob(d: Deployed, replicas: number, label: string) {
  const posted = await d.requester.postJob({ specHash: parseSpecHash(keccak256(toHex(label))), replicas, commitWindow: 600, revealWindow: 600, reward })
  const resultRoot = keccak256(toHex(`root-${label}`))
  const commits: Array<{ gas: number; salt: Hex }> = []
  for (const w of d.workers.slice(0, replicas)) commits.push(await d.commit(w, posted.jobId, resultRoot))
  const reveals: number[] = []
  for (const [i, w] of d.workers.slice(0, replicas).entries()) reveals.push(Number((await w.reveal({ jobId: posted.jobId, resultRoot, salt: commits[i]!.salt })).receipt.gasUsed))
  const job = await d.requester.getJob(posted.jobId)
  if (job.status !== 'Finalized') throw new Error(`job ${label} is ${job.status}, not Finalized`)
  const post = Number(posted.receipt.gasUsed)
  return { post, commit: avg(commits.map((c) => c.gas)), reveal: avg(reveals.slice(0, -1)), lastReveal: reveals.at(-1)!, total: post + sum(commits.map((c) => c.gas)) + sum(reveals) }
}

/** 2 vs 1 in the first committee, then all nine slots of the escalation committee agree with the one. */
async function escalatedJob(d: Deployed) {
  const posted = await d.requester.postJob({ specHash: parseSpecHash(keccak256(toHex('escalated'))), replicas: 3, commitWindow: 600, revealWindow: 600, reward })
  const honest = keccak256(toHex('honest root'))
  const forged = keccak256(toHex('forged root'))
  const firstRoots = [honest, forged, forged]
  const gas: Record<string, number[]> = { commit0: [], reveal0: [], commit1: [], reveal1: [] }
  const salts0: Hex[] = []
  for (const [i, w] of d.workers.slice(0, 3).entries()) {
    const c = await d.commit(w, posted.jobId, firstRoots[i]!)
    gas.commit0!.push(c.gas)
    salts0.push(c.salt)
  }
  for (const [i, w] of d.workers.slice(0, 3).entries()) gas.reveal0!.push(Number((await w.reveal({ jobId: posted.jobId, resultRoot: firstRoots[i]!, salt: salts0[i]! })).receipt.gasUsed))
  const second = d.workers.slice(3, 12)
  const salts1: Hex[] = []
  for (const w of second) {
    const c = await d.commit(w, posted.jobId, honest)
    gas.commit1!.push(c.gas)
    salts1.push(c.salt)
  }
  for (const [i, w] of second.entries()) gas.reveal1!.push(Number((await w.reveal({ jobId: posted.jobId, resultRoot: honest, salt: salts1[i]! })).receipt.gasUsed))
  const job = await d.requester.getJob(posted.jobId)
  if (job.status !== 'Finalized' || job.consensusRoot !== honest) throw new Error(`escalated job ended ${job.status} with ${job.consensusRoot}`)
  const post = Number(posted.receipt.gasUsed)
  return { post, gas, total: post + sum(Object.values(gas).flat()) }
}

/**
 * The batched path: `count` 3-replica jobs in one postJobs, then each of three workers commits to
 * all of them in one commitMany (chain time moved to when it is drawn for every one) and reveals them
 * in one revealMany; the third worker's reveals settle the jobs. Gas per job of each transaction.
 */
async function batchedJobs(d: Deployed, count: number) {
  const jobs = Array.from({ length: count }, (_, n) => ({ specHash: parseSpecHash(keccak256(toHex(`batched-${count}-${n}`))), replicas: 3, commitWindow: 600, revealWindow: 600, reward }))
  const posted = await d.requester.postJobs(jobs)
  const resultRoot = keccak256(toHex('batched root'))
  const perJob = (gas: bigint): number => Math.round(Number(gas) / count)
  const committers: Array<{ worker: MarketClient; salts: Hex[] }> = []
  const commits: number[] = []
  for (const worker of d.workers) {
    if (committers.length === 3) break
    const from = await Promise.all(posted.jobIds.map((jobId) => commitFrom(d.publicClient, worker, jobId)))
    if (from.some((time) => time === null)) continue
    const latest = Math.max(...(from as number[]))
    if (Number((await d.publicClient.getBlock()).timestamp) < latest) await d.testClient.setNextBlockTimestamp({ timestamp: BigInt(latest) })
    const salts = posted.jobIds.map(() => randomSalt())
    const { receipt, outcomes } = await worker.commitMany(posted.jobIds.map((jobId, i) => ({ jobId, resultRoot, salt: salts[i]! })))
    if (outcomes.some((o) => o !== null)) throw new Error(`a batched commit was skipped: ${outcomes.find((o) => o !== null)?.message}`)
    commits.push(perJob(receipt.gasUsed))
    committers.push({ worker, salts })
  }
  if (committers.length < 3) throw new Error(`only ${committers.length} of ${WORKERS} workers are drawn for all ${count} batched jobs`)
  const reveals: number[] = []
  for (const { worker, salts } of committers) {
    const { receipt, outcomes } = await worker.revealMany(posted.jobIds.map((jobId, i) => ({ jobId, resultRoot, salt: salts[i]! })))
    if (outcomes.some((o) => o !== null)) throw new Error(`a batched reveal was skipped: ${outcomes.find((o) => o !== null)?.message}`)
    reveals.push(perJob(receipt.gasUsed))
  }
  for (const jobId of posted.jobIds) if ((await d.requester.getJob(jobId)).status !== 'Finalized') throw new Error(`batched job ${jobId} did not settle`)
  const post = perJob(posted.receipt.gasUsed)
  return { post, commit: avg(commits), reveal: avg(reveals.slice(0, -1)), lastReveal: reveals.at(-1)!, total: post + sum(commits) + sum(reveals) }
}

const rows: string[][] = []
const batchedRows: string[][] = []
let escalation: Awaited<ReturnType<typeof escalatedJob>> | undefined
let withdrawGas = 0
for (const replicas of [1, 3, 5]) {
  const d = await freshDeployment()
  try {
    for (const [label, which] of [['first on a fresh deployment', 'a'], ['next job', 'b']] as const) {
      const r = await unanimousJob(d, replicas, `spec-${replicas}-${which}`)
      rows.push([String(replicas), label, fmt(r.post), fmt(r.commit), replicas > 1 ? fmt(r.reveal) : '-', fmt(r.lastReveal), fmt(r.total)])
    }
    if (replicas === 3) {
      for (const count of [8, 32]) {
        const r = await batchedJobs(d, count)
        batchedRows.push([`${count} jobs per transaction`, fmt(r.post), fmt(r.commit), fmt(r.reveal), fmt(r.lastReveal), fmt(r.total)])
      }
      escalation = await escalatedJob(d)
      withdrawGas = Number((await d.workers[0]!.withdraw()).receipt.gasUsed)
    }
  } finally {
    await d.stop()
  }
}
const header = ['replicas', 'job', 'postJob', 'commit (avg)', 'reveal (avg, not last)', 'last reveal (settles)', 'total per verified job']
const table = (head: string[], body: string[][]) => [head, head.map(() => '---'), ...body].map((r) => `| ${r.join(' | ')} |`).join('\n')
process.stdout.write(table(header, rows) + '\n\n')
process.stdout.write(
  table(['batched path, 3 replicas, per job', 'postJobs', 'commitMany (avg)', 'revealMany (avg, not last)', 'last revealMany (settles)', 'total per verified job'], batchedRows) + '\n\n',
)
if (escalation) {
  const g = escalation.gas
  process.stdout.write(
    table(
      ['escalation path (3 replicas, 2 vs 1, then 9 slots)', 'gas'],
      [
        ['postJob', fmt(escalation.post)],
        ['first committee: 3 commits (avg)', fmt(avg(g.commit0!))],
        ['first committee: 2 reveals (avg)', fmt(avg(g.reveal0!.slice(0, -1)))],
        ['third reveal (draws the escalation committee)', fmt(g.reveal0!.at(-1)!)],
        ['escalation committee: 9 commits (avg)', fmt(avg(g.commit1!))],
        ['escalation committee: 8 reveals (avg)', fmt(avg(g.reveal1!.slice(0, -1)))],
        ['last reveal (settles 12 slots)', fmt(g.reveal1!.at(-1)!)],
        ['total', fmt(escalation.total)],
      ],
    ) + '\n\n',
  )
}
process.stdout.write(`withdraw (a worker's batched earnings): ${fmt(withdrawGas)} gas\n`)
