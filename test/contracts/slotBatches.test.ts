// commitMany and revealMany on a real anvil: a worker's commits (reveals) for several jobs in one
// transaction, each made as commit (reveal) alone would make it; one the contract refuses is
// skipped with its own error and the others still land; for less gas per item than alone.
import { keccak256, parseEther, toHex, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { MarketRevertError } from '../../node/chain/errors.ts'
import type { MarketClient } from '../../node/chain/marketClient.ts'
import { randomSalt } from '../../node/chain/seal.ts'
import { chainJobId, type ChainJobId, parseSpecHash } from '../../verifier/index.ts'
import { expectMarketError, startMarketHarness, type MarketHarness } from './marketHarness.ts'

const REWARD = parseEther('0.1')
const root = (n: number): Hex => keccak256(toHex(`result ${n}`))
const job = (n: number) => ({ specHash: parseSpecHash(keccak256(toHex(`spec ${n}`))), replicas: 1, commitWindow: 100, revealWindow: 100, reward: REWARD })

let h: MarketHarness
let requester: MarketClient
let worker: MarketClient

beforeAll(async () => {
  h = await startMarketHarness({ accounts: 3 })
  requester = h.clients[1]!
  worker = h.clients[2]!
  await worker.stake({ value: 10n * 10n ** 18n })
})
afterAll(async () => h?.stop())

/** Posts `count` one-replica jobs and moves chain time to when the worker is drawn for all of them. */
async function drawnJobs(count: number): Promise<ChainJobId[]> {
  const { jobIds } = await requester.postJobs(Array.from({ length: count }, (_, n) => job(n)))
  await h.untilDrawnForAll(worker, jobIds)
  return jobIds
}

describe('commitMany and revealMany', () => {
  it("land each worker's item as commit and reveal alone would, skip a refused one with its own error, for less gas per item", async () => {
    const [a, b, c] = await drawnJobs(3)
    const salts = [randomSalt(), randomSalt(), randomSalt()]
    const unknown = chainJobId(9999n)
    const committed = await worker.commitMany([
      { jobId: a!, resultRoot: root(0), salt: salts[0]! },
      { jobId: unknown, resultRoot: root(1), salt: salts[1]! },
      { jobId: b!, resultRoot: root(1), salt: salts[1]! },
      { jobId: a!, resultRoot: root(0), salt: salts[0]! },
    ])
    expect(committed.receipt.status).toBe('success')
    expect(committed.outcomes.map((o) => (o instanceof MarketRevertError ? o.errorName : o))).toEqual([
      null,
      'MarketJobNotOpen',
      null,
      'MarketAlreadyCommitted',
    ])
    const me = worker.account!.address
    for (const jobId of [a!, b!]) expect((await worker.getSlots(jobId)).map((slot) => slot.worker)).toEqual([me])
    expect((await worker.getJob(c!)).committed).toBe(0)

    // The same worker's commit alone, for the gas it costs.
    const alone = await worker.commit({ jobId: c!, resultRoot: root(2), salt: salts[2]! })

    // A one-replica round is full once committed: its reveals are open, and each settles its job.
    const revealed = await worker.revealMany([
      { jobId: a!, resultRoot: root(0), salt: salts[0]! },
      { jobId: b!, resultRoot: root(0), salt: salts[1]! },
      { jobId: b!, resultRoot: root(1), salt: salts[1]! },
    ])
    expect(revealed.outcomes.map((o) => (o instanceof MarketRevertError ? [o.errorName, o.args] : o))).toEqual([null, ['MarketSealMismatch', [b!, me]], null])
    for (const [jobId, n] of [
      [a!, 0],
      [b!, 1],
    ] as const)
      expect(await worker.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: root(n) })
    const skipped = await h.publicClient.getContractEvents({
      address: h.market,
      abi: sandrunMarketAbi,
      eventName: 'BatchItemSkipped',
      fromBlock: revealed.receipt.blockNumber,
      toBlock: revealed.receipt.blockNumber,
    })
    expect(skipped.map((event) => [event.args.jobId, event.args.worker])).toEqual([[b!, me]])
    const revealAlone = await worker.reveal({ jobId: c!, resultRoot: root(2), salt: salts[2]! })

    // Two commits in one transaction cost less than two alone, even with two items skipped beside them.
    expect(committed.receipt.gasUsed).toBeLessThan(2n * alone.receipt.gasUsed)
    expect(revealed.receipt.gasUsed).toBeLessThan(2n * revealAlone.receipt.gasUsed)
  })

  it('refuses an empty batch and one over the limit', async () => {
    const max = await h.publicClient.readContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'MAX_SLOT_BATCH' })
    await expectMarketError(worker.commitMany([]), 'MarketInvalidBatch', [0n, max])
    const many = Array.from({ length: Number(max) + 1 }, (_, n) => ({ jobId: chainJobId(BigInt(n + 1)), resultRoot: root(n), salt: randomSalt() }))
    await expectMarketError(worker.revealMany(many), 'MarketInvalidBatch', [max + 1n, max])
  })
})
