// Behaviour that hangs on the market's compact storage (docs/contracts.md#storage-layout): roots
// that look like a sealed slot word, jobs longer than the roster word, collateral in whole gwei,
// worker indices, and the packed per-slot outcomes of JobFinalized.
import { keccak256, parseEventLogs, toHex, type Hex } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import type { MarketClient } from '../../node/chain/marketClient.ts'
import { slotOutcomes } from '../../node/chain/marketReader.ts'
import { ETH, expectMarketError, startMarketHarness, type MarketHarness } from './marketHarness.ts'

const specHash = keccak256(toHex('layout spec'))
const REWARD = 1n * ETH // testParams: collateral = max(1 ETH, 2 x reward) = 2 ETH
const COLLATERAL = 2n * ETH
const rootA = keccak256(toHex('result A'))
const rootB = keccak256(toHex('result B'))
const rootC = keccak256(toHex('result C'))
// A sealed slot word keeps the seal's top 224 bits and 0x5ea1ed<position> in the low 32 bits;
// results are arbitrary 32-byte values, so a revealed root can look exactly like that.
const sealLikeRoot: Hex = `0x${'ab'.repeat(28)}5ea1ed01`
const zeroRoot: Hex = `0x${'00'.repeat(32)}`
const oneRoot: Hex = `0x${'00'.repeat(31)}01`

let h: MarketHarness
let requester: MarketClient
let workers: MarketClient[]
let snapshotId: Hex

beforeAll(async () => {
  h = await startMarketHarness({ accounts: 10 })
  requester = h.clients[1]!
  workers = h.clients.slice(2, 9)
  for (const w of workers) await w.stake({ value: 10n * ETH })
  snapshotId = await h.snapshot()
})
afterAll(async () => h?.stop())
afterEach(async () => {
  await h.revert(snapshotId)
  snapshotId = await h.snapshot()
})

async function runJob(roots: Hex[], options: { replicas?: number; quorum?: number; reward?: bigint } = {}) {
  const replicas = options.replicas ?? roots.length
  const { jobId } = await requester.postJob({ specHash, replicas, quorum: options.quorum, commitWindow: 100, revealWindow: 100, reward: options.reward ?? REWARD })
  const salts: Hex[] = []
  for (const [i, root] of roots.entries()) salts.push((await workers[i]!.commit({ jobId, resultRoot: root })).salt)
  for (const [i, root] of roots.entries()) await workers[i]!.reveal({ jobId, resultRoot: root, salt: salts[i]! })
  return { jobId, salts }
}

function unpackOutcomes(packed: bigint, count: number): string[] {
  return Array.from({ length: count }, (_, i) => slotOutcomes[Number((packed >> BigInt(4 * i)) & 15n)]!)
}

describe('revealed roots that look like a sealed slot', () => {
  it('are counted as revealed, read back exactly and win like any other root', async () => {
    const roots = [sealLikeRoot, sealLikeRoot, oneRoot]
    const { jobId, salts } = await runJob(roots)
    const open = await requester.getSlots(jobId)
    expect(open.map((s) => s.outcome)).toEqual(['Revealed', 'Revealed', 'Revealed'])
    expect(open.map((s) => s.revealedRoot)).toEqual(roots)
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: sealLikeRoot, salt: salts[0]! }), 'MarketAlreadyRevealed', [jobId, workers[0]!.account!.address])

    await requester.finalize(jobId)
    expect(await requester.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: sealLikeRoot, revealed: 3 })
    expect((await requester.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Won', 'Won', 'Dissented'])
  })

  it('a zero root is a result too', async () => {
    const { jobId, salts } = await runJob([zeroRoot])
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: zeroRoot, salt: salts[0]! }), 'MarketAlreadyRevealed')
    await requester.finalize(jobId)
    expect(await requester.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: zeroRoot })
    expect(await workers[0]!.getAccount(workers[0]!.account!.address)).toMatchObject({ balance: REWARD, locked: 0n })
  })
})

describe('jobs with more slots than the roster word holds', () => {
  it('keep every worker in order, open reveals only when the last slot is taken, and settle all of them', async () => {
    const roots = [rootA, rootB, rootA, rootA, rootC, rootA]
    const { jobId } = await requester.postJob({ specHash, replicas: 6, quorum: 4, commitWindow: 100, revealWindow: 100, reward: REWARD })
    const salts: Hex[] = []
    for (const [i, root] of roots.entries()) {
      if (i === 5) {
        // Five of six slots taken: reveals must stay closed until the sixth (kept outside the job word) is.
        await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: rootA, salt: salts[0]! }), 'MarketRevealNotOpen')
      }
      salts.push((await workers[i]!.commit({ jobId, resultRoot: root })).salt)
    }
    await expectMarketError(workers[6]!.commit({ jobId, resultRoot: rootA }), 'MarketJobFull', [jobId])
    await expectMarketError(workers[5]!.commit({ jobId, resultRoot: rootA }), 'MarketAlreadyCommitted', [jobId, workers[5]!.account!.address])
    for (const [i, root] of roots.entries()) await workers[i]!.reveal({ jobId, resultRoot: root, salt: salts[i]! })

    const { receipt } = await requester.finalize(jobId)
    const expected = ['Won', 'Dissented', 'Won', 'Won', 'Dissented', 'Won']
    const slots = await requester.getSlots(jobId)
    expect(slots.map((s) => s.worker)).toEqual(workers.slice(0, 6).map((w) => w.account!.address))
    expect(slots.map((s) => s.outcome)).toEqual(expected)
    expect(slots.map((s) => s.revealedRoot)).toEqual(roots)

    const [finalized] = parseEventLogs({ abi: sandrunMarketAbi, logs: receipt.logs, eventName: 'JobFinalized' })
    const payout = REWARD + COLLATERAL / 2n // two dissenters' collateral shared by four winners
    expect(finalized!.args).toMatchObject({ consensusRoot: rootA, payout, slashed: 2n * COLLATERAL })
    expect(unpackOutcomes(finalized!.args.outcomes, 6)).toEqual(expected)
    for (const [i, w] of workers.slice(0, 6).entries()) {
      const account = await w.getAccount(w.account!.address)
      expect(account.locked).toBe(0n)
      if (expected[i] === 'Won') expect(account).toMatchObject({ balance: payout, staked: 10n * ETH })
      else expect(account).toMatchObject({ balance: 0n, staked: 10n * ETH - COLLATERAL })
    }
    expect((await requester.getAccount(requester.account!.address)).balance).toBe(2n * REWARD)
  })
})

describe('collateral and worker indices', () => {
  it('collateral is rounded up to a whole gwei, locked and released exactly', async () => {
    const reward = REWARD + 1n // 2 x reward = 2 ETH + 2 wei: rounded up to 2 ETH + 1 gwei
    const collateral = 2n * ETH + 10n ** 9n
    const { jobId } = await requester.postJob({ specHash, replicas: 1, commitWindow: 100, revealWindow: 100, reward })
    expect((await requester.getJob(jobId)).collateral).toBe(collateral)
    const w = workers[0]!
    const { salt } = await w.commit({ jobId, resultRoot: rootA })
    expect(await w.getAccount(w.account!.address)).toMatchObject({ locked: collateral, free: 10n * ETH - collateral })
    await w.reveal({ jobId, resultRoot: rootA, salt })
    await requester.finalize(jobId)
    expect(await w.getAccount(w.account!.address)).toMatchObject({ locked: 0n, staked: 10n * ETH, balance: reward })
  })

  it('a job whose collateral no stake could cover is refused', async () => {
    const reward = 2n ** 79n // 2 x reward = 2^80 wei (then rounded up to gwei), above the 2^80 - 1 stake cap
    const collateral = ((2n ** 80n + 10n ** 9n - 1n) / 10n ** 9n) * 10n ** 9n
    await h.testClient.setBalance({ address: requester.account!.address, value: 2n ** 81n })
    await expectMarketError(requester.postJob({ specHash, replicas: 1, commitWindow: 100, revealWindow: 100, reward }), 'MarketAmountTooLarge', [collateral, 2n ** 80n - 1n])
  })

  it('each staker gets one worker index at its first stake and keeps it', async () => {
    const indices = await Promise.all(workers.map(async (w) => (await w.getAccount(w.account!.address)).workerIndex))
    expect(new Set(indices).size).toBe(workers.length)
    expect(indices.every((i) => i > 0)).toBe(true)
    const w = workers[0]!
    await w.stake({ value: 1n * ETH })
    expect((await w.getAccount(w.account!.address)).workerIndex).toBe(indices[0])
    const workerAt = await h.publicClient.readContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'workerAt', args: [BigInt(indices[0]!)] })
    expect(workerAt).toBe(w.account!.address)
    const registered = await h.publicClient.getContractEvents({ address: h.market, abi: sandrunMarketAbi, eventName: 'WorkerRegistered', args: { worker: w.account!.address }, fromBlock: 0n })
    expect(registered).toHaveLength(1)
    expect((await requester.getAccount(requester.account!.address)).workerIndex).toBe(0)
  })
})
