// postJobs on a real anvil: several jobs in one transaction, each exactly as postJob would post it
// (ids in order, escrow, deadlines, a worker can take it), for less gas per job; all or nothing, so
// one invalid job reverts the batch with its own error and nothing is posted or escrowed.
import { keccak256, parseEther, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { toMarketError, type MarketClient } from '../../node/chain/marketClient.ts'
import { expectMarketError, startMarketHarness, type MarketHarness } from './marketHarness.ts'
import { parseSpecHash } from '../../verifier/index.ts'

const REWARD = parseEther('0.1')
const root = keccak256(toHex('result'))
const spec = (n: number) => parseSpecHash(keccak256(toHex(`spec ${n}`)))
const job = (n: number, replicas = 3) => ({ specHash: spec(n), replicas, commitWindow: 100, revealWindow: 100, reward: REWARD })

let h: MarketHarness
let requester: MarketClient
let worker: MarketClient

beforeAll(async () => {
  h = await startMarketHarness({ accounts: 4 })
  requester = h.clients[1]!
  worker = h.clients[2]!
  await worker.stake({ value: 10n * 10n ** 18n })
})
afterAll(async () => h?.stop())

describe('postJobs', () => {
  it('posts each job as postJob would, with consecutive ids in the order given, for less gas per job than postJob', async () => {
    const single = await requester.postJob(job(0))
    const before = await h.ethBalance(h.market)
    const batch = await requester.postJobs([job(1), job(2, 1), job(3, 5)])
    expect(batch.jobIds).toEqual([single.jobId + 1n, single.jobId + 2n, single.jobId + 3n])
    const posted = await h.publicClient.getContractEvents({
      address: h.market,
      abi: sandrunMarketAbi,
      eventName: 'JobPosted',
      fromBlock: batch.receipt.blockNumber,
      toBlock: batch.receipt.blockNumber,
    })
    expect(posted.map((e) => [e.args.jobId, e.args.specHash, e.args.replicas, e.args.reward])).toEqual([
      [single.jobId + 1n, spec(1), 3, REWARD],
      [single.jobId + 2n, spec(2), 1, REWARD],
      [single.jobId + 3n, spec(3), 5, REWARD],
    ])
    expect(await h.ethBalance(h.market)).toBe(before + REWARD * 9n)
    const [first, , last] = await Promise.all(batch.jobIds.map((id) => requester.getJob(id)))
    expect(first).toMatchObject({ status: 'Open', requester: requester.account!.address, replicas: 3, quorum: 2 })
    expect(last).toMatchObject({ replicas: 5, quorum: 3, commitDeadline: first!.commitDeadline })
    // A batched job is a job like any other: a drawn worker commits to it.
    const { receipt } = await h.commitWhenEligible(worker, { jobId: batch.jobIds[1]!, resultRoot: root })
    expect(receipt.status).toBe('success')
    expect(batch.receipt.gasUsed).toBeLessThan(3n * single.receipt.gasUsed)
  })

  it('one invalid job reverts the whole batch with its own error: nothing is posted, nothing escrowed', async () => {
    const { jobCount } = await requester.getTotals()
    const before = await h.ethBalance(h.market)
    await expectMarketError(requester.postJobs([job(4), { ...job(5), quorum: 1 }, job(6)]), 'MarketInvalidQuorum', [1n, 2n, 3n])
    await expectMarketError(requester.postJobs([job(4), { ...job(5), commitWindow: 1 }]), 'MarketInvalidCommitWindow', [1n, 10n, 10_000n])
    expect((await requester.getTotals()).jobCount).toBe(jobCount)
    expect(await h.ethBalance(h.market)).toBe(before)
  })

  it('refuses an empty batch, one over the limit, and a value that is not the sum of the escrows', async () => {
    const max = await h.publicClient.readContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'MAX_POST_BATCH' })
    await expectMarketError(requester.postJobs([]), 'MarketInvalidBatch', [0n, max])
    await expectMarketError(requester.postJobs(Array.from({ length: Number(max) + 1 }, (_, n) => job(n))), 'MarketInvalidBatch', [max + 1n, max])
    const items = [1, 2].map((n) => ({ specHash: spec(n), replicas: 1, quorum: 1, commitWindow: 100, revealWindow: 100, escrow: REWARD }))
    const call = h.publicClient.simulateContract({
      address: h.market,
      abi: sandrunMarketAbi,
      functionName: 'postJobs',
      args: [items],
      value: REWARD * 3n,
      account: requester.account!,
    })
    await expectMarketError(
      call.catch((error: unknown) => {
        throw toMarketError(error)
      }),
      'MarketBatchEscrowMismatch',
      [REWARD * 3n, REWARD * 2n],
    )
  })
})
