// Writes that race: several workers commit to one job in the same block, each estimated against the
// state before any of them landed. Anvil's automine is switched off so they really share a block.
import { createTestClient, http, keccak256, parseEther, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAnvil, type StartAnvilReturnType } from './anvil.ts'
import { deployMarket } from './deployMarket.ts'
import { devAccounts } from './devAccounts.ts'
import { MarketRevertError } from './errors.ts'
import { createMarketClient, type MarketClient } from './marketClient.ts'
import { defaultMarketParams } from './marketParams.ts'
import { commitFrom } from '../../test/contracts/commitWhenEligible.ts'
import { type ChainJobId, parseSpecHash } from '../../verifier/index.ts'

let anvil: StartAnvilReturnType
let requester: MarketClient
let workers: MarketClient[]
let testClient: ReturnType<typeof createTestClient>

beforeAll(async () => {
  anvil = await startAnvil({ accounts: 6 })
  const [owner, ...others] = devAccounts(6)
  const deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: owner!, params: { ...defaultMarketParams, minCommitWindow: 1n, minRevealWindow: 1n }, pollingInterval: 20 })
  const client = (account: (typeof others)[number]) => createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account, pollingInterval: 20 })
  requester = client(owner!)
  workers = others.map(client)
  for (const worker of workers) await worker.stake({ value: parseEther('1') })
  testClient = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
})

afterAll(async () => {
  await anvil?.stop()
})

/** Moves chain time to when every worker is drawn for the job (eligibility widens over the window). */
async function untilAllDrawn(jobId: ChainJobId): Promise<void> {
  const starts = await Promise.all(workers.map((worker) => commitFrom(requester.publicClient, worker, jobId)))
  if (starts.some((start) => start === null)) throw new Error('a worker is never drawn for this job')
  await testClient.setNextBlockTimestamp({ timestamp: BigInt(Math.max(...(starts as number[]))) })
  await testClient.mine({ blocks: 1 })
}

/** Sends every call, waits until all sit in the mempool, then mines them in one block. */
async function inOneBlock<T>(calls: Array<() => Promise<T>>): Promise<PromiseSettledResult<T>[]> {
  await testClient.setAutomine(false)
  try {
    const settled = Promise.allSettled(calls.map((call) => call()))
    // Each call estimates gas first, so its transaction reaches the pool a moment after the call starts.
    for (let pending = 0; pending < calls.length; ) pending = Number((await testClient.getTxpoolStatus()).pending)
    await testClient.mine({ blocks: 1 })
    return await settled
  } finally {
    await testClient.setAutomine(true)
  }
}

describe('market client writes', () => {
  it('commits estimated before each other all land in one block (later slots cost more gas)', async () => {
    // Five slots: the fourth starts a new storage word, the costliest surprise for an estimate.
    const { jobId } = await requester.postJob({ specHash: parseSpecHash(keccak256(toHex('spec'))), replicas: 5, commitWindow: 600, revealWindow: 600, reward: parseEther('0.001') })
    const root = keccak256(toHex('root'))
    await untilAllDrawn(jobId)
    const results = await inOneBlock(workers.map((worker) => () => worker.commit({ jobId, resultRoot: root })))
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
    const job = await requester.getJob(jobId)
    expect(job.committed).toBe(5)
  })

  it('commits that lose the race for the last slots on chain fail with the contract reason, not a bare revert', async () => {
    const { jobId } = await requester.postJob({ specHash: parseSpecHash(keccak256(toHex('spec-2'))), replicas: 3, commitWindow: 600, revealWindow: 600, reward: parseEther('0.001') })
    const root = keccak256(toHex('root'))
    await untilAllDrawn(jobId)
    const results = await inOneBlock(workers.map((worker) => () => worker.commit({ jobId, resultRoot: root })))
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3)
    expect(rejected).toHaveLength(2)
    for (const { reason } of rejected) {
      expect(reason).toBeInstanceOf(MarketRevertError)
      expect((reason as MarketRevertError).errorName).toBe('MarketJobFull')
    }
  })
})
