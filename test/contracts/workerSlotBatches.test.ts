// A worker's commits and reveals due together go in one transaction (workerChain through
// slotBatcher, on a real anvil): each caller gets its own outcome (the batch's receipt, or its own
// item's error while the others land); one alone goes as a plain commit.
import { decodeFunctionData, keccak256, parseEther, toHex, type Hash, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { MarketRevertError } from '../../node/chain/errors.ts'
import type { MarketClient } from '../../node/chain/marketClient.ts'
import { randomSalt } from '../../node/chain/seal.ts'
import { workerChain, type WorkerChain } from '../../node/market/worker/workerChain.ts'
import { type ChainJobId, parseSpecHash } from '../../verifier/index.ts'
import { startMarketHarness, type MarketHarness } from './marketHarness.ts'

const root = (n: number): Hex => keccak256(toHex(`result ${n}`))

let h: MarketHarness
let requester: MarketClient
let client: MarketClient
let chain: WorkerChain

beforeAll(async () => {
  h = await startMarketHarness({ accounts: 3 })
  requester = h.clients[1]!
  client = h.clients[2]!
  await client.stake({ value: parseEther('10') })
  chain = workerChain({ client, chainId: await h.publicClient.getChainId() })
})
afterAll(async () => h?.stop())

/** Posts `count` one-replica jobs and moves chain time to when the worker is drawn for all of them. */
async function drawnJobs(count: number, label: string): Promise<ChainJobId[]> {
  const jobs = Array.from({ length: count }, (_, n) => ({
    specHash: parseSpecHash(keccak256(toHex(`${label} ${n}`))),
    replicas: 1,
    commitWindow: 100,
    revealWindow: 100,
    reward: parseEther('0.1'),
  }))
  const { jobIds } = await requester.postJobs(jobs)
  await h.untilDrawnForAll(client, jobIds)
  return jobIds
}

async function functionOf(hash: Hash): Promise<string> {
  const { input } = await h.publicClient.getTransaction({ hash })
  return decodeFunctionData({ abi: sandrunMarketAbi, data: input }).functionName
}

describe("a worker's commits and reveals in batches", () => {
  it('due together: one commitMany and one revealMany, each caller told its own outcome', async () => {
    const jobIds = await drawnJobs(3, 'together')
    const salts = jobIds.map(() => randomSalt())
    const commits = await Promise.allSettled([
      ...jobIds.map((jobId, i) => chain.commit({ jobId, resultRoot: root(i), salt: salts[i]!, deadline: 10 ** 10 })),
      chain.commit({ jobId: jobIds[0]!, resultRoot: root(0), salt: salts[0]! }),
    ])
    const landed = commits.slice(0, 3).map((c) => (c.status === 'fulfilled' ? c.value.hash : c.reason))
    expect(new Set(landed).size).toBe(1)
    expect(await functionOf(landed[0] as Hash)).toBe('commitMany')
    const duplicate = commits[3]!
    expect(duplicate.status === 'rejected' && duplicate.reason instanceof MarketRevertError && duplicate.reason.errorName).toBe('MarketAlreadyCommitted')
    for (const jobId of jobIds) expect((await client.getSlots(jobId))[0]?.worker).toBe(client.account!.address)

    const reveals = await Promise.all(jobIds.map((jobId, i) => chain.reveal({ jobId, resultRoot: root(i), salt: salts[i]! })))
    expect(new Set(reveals.map((r) => r.hash)).size).toBe(1)
    expect(await functionOf(reveals[0]!.hash)).toBe('revealMany')
    for (const [i, jobId] of jobIds.entries()) expect(await client.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: root(i) })
  })

  it('one alone goes as a plain commit', async () => {
    const [jobId] = await drawnJobs(1, 'alone')
    const alone = await chain.commit({ jobId: jobId!, resultRoot: root(0), salt: randomSalt() })
    expect(await functionOf(alone.hash)).toBe('commit')
    expect((await client.getSlots(jobId!))[0]?.worker).toBe(client.account!.address)
  })
})
