// Behaviour that hangs on the market's compact storage (docs/contracts.md#storage-layout): roots
// that look like a sealed slot word, jobs longer than the roster word, collateral in whole gwei and
// its caps, worker indices, and the packed per-slot outcomes of JobFinalized.
import { keccak256, parseEther, parseEventLogs, toHex, type Hex } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import type { MarketClient } from '../../node/chain/marketClient.ts'
import { slotOutcomes } from '../../node/chain/marketReader.ts'
import { ETH, expectMarketError, startMarketHarness, type MarketHarness } from './marketHarness.ts'
import { parseSpecHash } from '../../verifier/index.ts'

const specHash = parseSpecHash(keccak256(toHex('layout spec')))
const REWARD = parseEther('0.1') // testParams: collateral = max(1 ETH, reward x max(2, escalation slots))
const rootA = keccak256(toHex('result A'))
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

async function commitJob(roots: Hex[], options: { replicas?: number; quorum?: number; reward?: bigint } = {}) {
  const replicas = options.replicas ?? roots.length
  const { jobId } = await requester.postJob({ specHash, replicas, quorum: options.quorum, commitWindow: 100, revealWindow: 100, reward: options.reward ?? REWARD })
  const salts: Hex[] = []
  for (const [i, root] of roots.entries()) salts.push((await h.commitWhenEligible(workers[i]!, { jobId, resultRoot: root })).salt)
  return { jobId, salts }
}

async function runJob(roots: Hex[], options: { replicas?: number; quorum?: number; reward?: bigint } = {}) {
  const { jobId, salts } = await commitJob(roots, options)
  const receipts = []
  for (const [i, root] of roots.entries()) receipts.push((await workers[i]!.reveal({ jobId, resultRoot: root, salt: salts[i]! })).receipt)
  return { jobId, salts, lastReveal: receipts.at(-1)! }
}

function unpackOutcomes(packed: bigint, count: number): string[] {
  return Array.from({ length: count }, (_, i) => slotOutcomes[Number((packed >> BigInt(4 * i)) & 15n)]!)
}

describe('revealed roots that look like a sealed slot', () => {
  it('are counted as revealed, read back exactly and never revealed twice', async () => {
    const roots = [sealLikeRoot, oneRoot, zeroRoot]
    const { jobId, salts } = await commitJob(roots)
    for (const i of [0, 1]) await workers[i]!.reveal({ jobId, resultRoot: roots[i]!, salt: salts[i]! })
    const open = await requester.getSlots(jobId)
    expect(open.map((s) => s.outcome)).toEqual(['Revealed', 'Revealed', 'Committed'])
    expect(open.map((s) => s.revealedRoot)).toEqual([sealLikeRoot, oneRoot, null])
    expect(await requester.getJob(jobId)).toMatchObject({ committed: 3, revealed: 2 })
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: sealLikeRoot, salt: salts[0]! }), 'MarketAlreadyRevealed', [jobId, workers[0]!.account!.address])
  })

  it('win like any other root', async () => {
    const { jobId } = await runJob([sealLikeRoot, sealLikeRoot, sealLikeRoot])
    expect(await requester.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: sealLikeRoot, totalRevealed: 3 })
    expect((await requester.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Won', 'Won', 'Won'])
  })

  it('a zero root is a result too', async () => {
    const { jobId, salts } = await runJob([zeroRoot], { replicas: 1 })
    expect(await requester.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: zeroRoot })
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: zeroRoot, salt: salts[0]! }), 'MarketJobNotOpen')
    expect(await workers[0]!.getAccount(workers[0]!.account!.address)).toMatchObject({ balance: REWARD, locked: 0n })
  })
})

describe('jobs with more slots than the roster word holds', () => {
  it('keep every worker in order, open reveals only when the last slot is taken, and settle all of them', async () => {
    const roots = [rootA, rootA, rootA, rootA, rootA, rootA]
    const { jobId } = await requester.postJob({ specHash, replicas: 6, quorum: 4, commitWindow: 100, revealWindow: 100, reward: REWARD })
    const salts: Hex[] = []
    for (const [i, root] of roots.entries()) {
      if (i === 5) {
        // Five of six slots taken: reveals must stay closed until the sixth (kept outside the job word) is.
        await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: rootA, salt: salts[0]! }), 'MarketRevealNotOpen')
      }
      salts.push((await h.commitWhenEligible(workers[i]!, { jobId, resultRoot: root })).salt)
    }
    const from = await h.commitFrom(workers[6]!, jobId)
    if (from! > (await h.now())) await h.increaseTime(from! - (await h.now()))
    await expectMarketError(workers[6]!.commit({ jobId, resultRoot: rootA }), 'MarketJobFull', [jobId])
    await expectMarketError(workers[5]!.commit({ jobId, resultRoot: rootA }), 'MarketAlreadyCommitted', [jobId, workers[5]!.account!.address])
    let receipt
    for (const [i, root] of roots.entries()) receipt = (await workers[i]!.reveal({ jobId, resultRoot: root, salt: salts[i]! })).receipt

    const slots = await requester.getSlots(jobId)
    expect(slots.map((s) => s.worker)).toEqual(workers.slice(0, 6).map((w) => w.account!.address))
    expect(slots.map((s) => s.outcome)).toEqual(roots.map(() => 'Won'))
    const [finalized] = parseEventLogs({ abi: sandrunMarketAbi, logs: receipt!.logs, eventName: 'JobFinalized' })
    expect(finalized!.args).toMatchObject({ consensusRoot: rootA, payout: REWARD, slashed: 0n })
    expect(unpackOutcomes(finalized!.args.outcomes, 6)).toEqual(roots.map(() => 'Won'))
  })

  it('an escalation committee lives beyond the first committee, and the packed outcomes cover both', async () => {
    const { jobId, salts } = await commitJob([rootA, oneRoot])
    for (const i of [0, 1]) await workers[i]!.reveal({ jobId, resultRoot: [rootA, oneRoot][i]!, salt: salts[i]! })
    // 2 replicas escalate to 6 slots: positions 2-7, the first of them still in the job word.
    expect(await requester.getJob(jobId)).toMatchObject({ status: 'Escalated', roundSlots: 6 })
    const second = workers.slice(2, 7)
    const secondSalts: Hex[] = []
    for (const w of second) secondSalts.push((await h.commitWhenEligible(w, { jobId, resultRoot: rootA })).salt)
    await h.increaseTime(101)
    let receipt
    for (const [i, w] of second.entries()) receipt = (await w.reveal({ jobId, resultRoot: rootA, salt: secondSalts[i]! })).receipt
    const [finalized] = parseEventLogs({ abi: sandrunMarketAbi, logs: receipt!.logs, eventName: 'JobFinalized' })
    const expected = ['Won', 'Dissented', 'Won', 'Won', 'Won', 'Won', 'Won', 'Empty']
    expect(unpackOutcomes(finalized!.args.outcomes, 8)).toEqual(expected)
    const slots = await requester.getSlots(jobId)
    expect(slots.map((s) => s.outcome)).toEqual(expected)
    expect(slots.map((s) => s.worker)).toEqual([...workers.slice(0, 7).map((w) => w.account!.address), null])
  })
})

describe('collateral and worker indices', () => {
  it('collateral covers a whole escalation committee: three rewards for one replica', async () => {
    const reward = parseEther('1')
    const { jobId } = await requester.postJob({ specHash, replicas: 1, commitWindow: 100, revealWindow: 100, reward })
    expect((await requester.getJob(jobId)).collateral).toBe(3n * reward)
    const w = workers[0]!
    const { salt } = await h.commitWhenEligible(w, { jobId, resultRoot: rootA })
    expect(await w.getAccount(w.account!.address)).toMatchObject({ locked: 3n * reward, free: 10n * ETH - 3n * reward })
    await w.reveal({ jobId, resultRoot: rootA, salt })
    expect(await w.getAccount(w.account!.address)).toMatchObject({ locked: 0n, staked: 10n * ETH, balance: reward })
  })

  it('a reward the job word cannot hold is refused', async () => {
    const reward = 2n ** 40n * 10n ** 9n // 2^40 gwei, one more than the 40-bit reward field holds
    await h.testClient.setBalance({ address: requester.account!.address, value: 2n ** 81n })
    await expectMarketError(requester.postJob({ specHash, replicas: 1, commitWindow: 100, revealWindow: 100, reward }), 'MarketAmountTooLarge', [reward, (2n ** 40n - 1n) * 10n ** 9n])
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
    expect((await requester.getTotals()).workerCount).toBe(workers.length)
  })
})
