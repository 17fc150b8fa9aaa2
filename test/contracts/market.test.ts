// Scenario tests of SandrunMarket on a real anvil: committees drawn by eligibility, the last reveal
// settling a unanimous job, escalation on dissent and who pays for it, slashing, every guard and its
// custom error, and a worker contract that re-enters on payment.
import { createWalletClient, decodeErrorResult, http, keccak256, parseEther, toHex, type Hex } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { reentrantWorkerAbi, reentrantWorkerBytecode } from '../../contracts/testing/abi.ts'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { computeSeal } from '../../node/chain/seal.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { ETH, expectMarketError, startMarketHarness, type MarketHarness } from './marketHarness.ts'
import type { MarketClient } from '../../node/chain/marketClient.ts'
import { type ChainJobId, chainJobId, parseSpecHash } from '../../verifier/index.ts'

const rootA = keccak256(toHex('result A'))
const rootB = keccak256(toHex('result B'))
const rootC = keccak256(toHex('result C'))
const specHash = parseSpecHash(keccak256(toHex('spec')))
const REWARD = parseEther('0.1')
// collateral = max(minCollateral 1 ETH, reward x max(multiplier 2, escalation slots 9)) = 1 ETH
const COLLATERAL = 1n * ETH
const STAKE = 10n * ETH
const ACCOUNTS = 17

let h: MarketHarness
let snapshotId: Hex
let requester: MarketClient
let workers: MarketClient[]
let stranger: MarketClient
let poor: MarketClient

beforeAll(async () => {
  h = await startMarketHarness({ accounts: ACCOUNTS })
  requester = h.clients[1]!
  workers = h.clients.slice(2, 14)
  stranger = h.clients[14]!
  poor = h.clients[15]!
  for (const w of workers) await w.stake({ value: STAKE })
  snapshotId = await h.snapshot()
})
afterAll(async () => h?.stop())
afterEach(async () => {
  await h.revert(snapshotId)
  snapshotId = await h.snapshot()
})

async function post(replicas = 3, quorum?: number): Promise<ChainJobId> {
  const { jobId } = await requester.postJob({ specHash, replicas, quorum, commitWindow: 100, revealWindow: 100, reward: REWARD })
  return jobId
}

/** Commit `roots[i]` from `from[i]`, each once it is drawn; returns the salts. */
async function commitAll(jobId: ChainJobId, roots: Hex[], from: MarketClient[] = workers): Promise<Hex[]> {
  const salts: Hex[] = []
  for (const [i, root] of roots.entries()) salts.push((await h.commitWhenEligible(from[i]!, { jobId, resultRoot: root })).salt)
  return salts
}

async function revealAll(jobId: ChainJobId, roots: Hex[], salts: Hex[], from: MarketClient[] = workers): Promise<void> {
  for (const [i, root] of roots.entries()) await from[i]!.reveal({ jobId, resultRoot: root, salt: salts[i]! })
}

const account = (c: MarketClient) => c.getAccount(c.account!.address)
const balanceOf = async (c: MarketClient) => (await account(c)).balance
const burned = async () => (await requester.getAccount('0x0000000000000000000000000000000000000000')).balance

describe('unanimous first committee', () => {
  it('the last reveal settles the job: every worker is paid the reward, nothing else moves', async () => {
    const jobId = await post()
    const roots = [rootA, rootA, rootA]
    const salts = await commitAll(jobId, roots)
    expect((await account(workers[0]!)).locked).toBe(COLLATERAL)
    await revealAll(jobId, roots.slice(0, 2), salts)
    expect((await stranger.getJob(jobId)).status).toBe('Open')
    const { receipt } = await workers[2]!.reveal({ jobId, resultRoot: rootA, salt: salts[2]! })
    expect(receipt.logs.length).toBeGreaterThan(1) // SlotRevealed and JobFinalized in one transaction

    const job = await stranger.getJob(jobId)
    expect(job).toMatchObject({ status: 'Finalized', consensusRoot: rootA, totalCommitted: 3, totalRevealed: 3 })
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Won', 'Won', 'Won'])
    for (const w of workers.slice(0, 3)) expect(await account(w)).toMatchObject({ staked: STAKE, locked: 0n, balance: REWARD })
    expect(await balanceOf(requester)).toBe(0n)
    await expectMarketError(stranger.finalize(jobId), 'MarketJobNotOpen', [jobId, 3])

    const before = await h.ethBalance(workers[0]!.account!.address)
    const withdrawn = await workers[0]!.withdraw()
    const after = await h.ethBalance(workers[0]!.account!.address)
    expect(after - before + withdrawn.receipt.gasUsed * withdrawn.receipt.effectiveGasPrice).toBe(REWARD)
    await expectMarketError(workers[0]!.withdraw(), 'MarketNothingToWithdraw')
  })

  it('a silent slot is slashed at the reveal deadline and its collateral goes to the winners', async () => {
    const jobId = await post()
    const salts = await commitAll(jobId, [rootA, rootA, rootA])
    await revealAll(jobId, [rootA, rootA], salts)
    await expectMarketError(stranger.finalize(jobId), 'MarketFinalizeTooEarly')
    await h.increaseTime(250)
    await stranger.finalize(jobId)
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Won', 'Won', 'NotRevealed'])
    expect(await account(workers[2]!)).toMatchObject({ staked: STAKE - COLLATERAL, locked: 0n, balance: 0n })
    expect(await balanceOf(workers[0]!)).toBe(REWARD + COLLATERAL / 2n)
    // The silent slot's reward goes back to the requester, never its collateral.
    expect(await balanceOf(requester)).toBe(REWARD)
    expect((await requester.getTotals()).totalStaked).toBe(12n * STAKE - COLLATERAL)
  })

  it('unfilled slots are refunded; the job settles once the commit window closed and every commit revealed', async () => {
    const jobId = await post(3, 2)
    const salts = await commitAll(jobId, [rootA, rootA])
    const { commitDeadline } = await stranger.getJob(jobId)
    await h.increaseTime(commitDeadline - (await h.now()) + 1)
    await revealAll(jobId, [rootA, rootA], salts)
    expect((await stranger.getJob(jobId)).status).toBe('Finalized')
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Won', 'Won', 'Empty'])
    expect(await balanceOf(requester)).toBe(REWARD)
  })

  it('agreeing workers short of quorum, with nobody silent, end inconclusive and refunded', async () => {
    const jobId = await post(3, 2)
    const [salt] = await commitAll(jobId, [rootA])
    await h.increaseTime(101)
    await workers[0]!.reveal({ jobId, resultRoot: rootA, salt: salt! })
    expect((await stranger.getJob(jobId)).status).toBe('Inconclusive')
    expect(await account(workers[0]!)).toMatchObject({ staked: STAKE, locked: 0n, balance: 0n })
    expect(await balanceOf(requester)).toBe(3n * REWARD)
  })
})

describe('escalation', () => {
  it('a sybil majority of the first committee is overturned: the honest minority is paid, the sybils are slashed and pay the second committee', async () => {
    const jobId = await post()
    const [honest, sybilA, sybilB] = workers
    const first = [honest!, sybilA!, sybilB!]
    const roots = [rootA, rootB, rootB]
    await revealAll(jobId, roots, await commitAll(jobId, roots, first), first)
    const escalated = await stranger.getJob(jobId)
    expect(escalated).toMatchObject({ status: 'Escalated', round: 1, roundSlots: 9, committed: 0 })
    const events = await stranger.getJobEvents(jobId)
    expect(events.map((e) => e.eventName)).toContain('JobEscalated')
    // The first committee cannot take a second slot.
    await expectMarketError(honest!.commit({ jobId, resultRoot: rootA }), 'MarketAlreadyCommitted', [jobId, honest!.account!.address])

    const second = workers.slice(3, 12)
    const secondRoots = second.map(() => rootA)
    const salts = await commitAll(jobId, secondRoots, second)
    await revealAll(jobId, secondRoots, salts, second)

    const job = await stranger.getJob(jobId)
    expect(job).toMatchObject({ status: 'Finalized', consensusRoot: rootA, totalCommitted: 12, totalRevealed: 12 })
    const slots = await stranger.getSlots(jobId)
    expect(slots.map((s) => s.outcome)).toEqual(['Won', 'Dissented', 'Dissented', ...second.map(() => 'Won')])
    expect(slots.map((s) => s.round)).toEqual([0, 0, 0, ...second.map(() => 1)])
    // Slashed 2 ETH pays the nine second-committee rewards (0.9 ETH); the rest is shared by all ten winners.
    const share = (2n * COLLATERAL - 9n * REWARD) / 10n
    for (const w of [honest!, ...second]) expect(await account(w)).toMatchObject({ balance: REWARD + share, locked: 0n, staked: STAKE })
    for (const w of [sybilA!, sybilB!]) expect(await account(w)).toMatchObject({ balance: 0n, locked: 0n, staked: STAKE - COLLATERAL })
    // The requester paid one reward (the honest first-committee slot) and got the losers' rewards back.
    expect(await balanceOf(requester)).toBe(2n * REWARD)
    expect(await burned()).toBe(2n * COLLATERAL - 9n * REWARD - 10n * share)
  })

  it('an honest majority is upheld by the second committee and the liar pays for it', async () => {
    const jobId = await post()
    const roots = [rootA, rootB, rootA]
    await revealAll(jobId, roots, await commitAll(jobId, roots))
    const second = workers.slice(3, 7)
    const salts = await commitAll(jobId, [rootA, rootA, rootA, rootB], second)
    await h.increaseTime(101) // 4 of 9 slots taken: reveals open at the commit deadline
    await revealAll(jobId, [rootA, rootA, rootA, rootB], salts, second)
    expect(await stranger.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: rootA })
    expect((await stranger.getSlots(jobId)).filter((s) => s.committed).map((s) => s.outcome)).toEqual(['Won', 'Dissented', 'Won', 'Won', 'Won', 'Won', 'Dissented'])
    const share = (2n * COLLATERAL - 3n * REWARD) / 5n
    expect(await balanceOf(workers[0]!)).toBe(REWARD + share)
    expect(await balanceOf(workers[3]!)).toBe(REWARD + share)
    expect(await account(workers[1]!)).toMatchObject({ staked: STAKE - COLLATERAL, balance: 0n })
  })

  it('with no fresh worker to draw, the second round expires and the first committee majority decides', async () => {
    const jobId = await post()
    const roots = [rootA, rootB, rootA]
    await revealAll(jobId, roots, await commitAll(jobId, roots))
    await expectMarketError(stranger.finalize(jobId), 'MarketFinalizeTooEarly')
    await h.increaseTime(101)
    await stranger.finalize(jobId)
    expect(await stranger.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: rootA })
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Won', 'Dissented', 'Won'])
    expect(await balanceOf(workers[0]!)).toBe(REWARD + COLLATERAL / 2n)
    expect(await account(workers[1]!)).toMatchObject({ staked: STAKE - COLLATERAL, balance: 0n })
    expect(await balanceOf(requester)).toBe(REWARD)
  })

  it('no majority over all reveals is inconclusive: revealers share the silent slot, the requester gets only its escrow', async () => {
    const jobId = await post()
    const salts = await commitAll(jobId, [rootA, rootB, rootC])
    await revealAll(jobId, [rootA, rootB], salts)
    await h.increaseTime(201) // first reveal window over with one slot silent
    await stranger.finalize(jobId)
    expect((await stranger.getJob(jobId)).status).toBe('Escalated')
    // The silent first-committee slot cannot reveal once the escalation began.
    await expectMarketError(workers[2]!.reveal({ jobId, resultRoot: rootC, salt: salts[2]! }), 'MarketRevealClosed')
    await h.increaseTime(101)
    await stranger.finalize(jobId)
    expect((await stranger.getJob(jobId)).status).toBe('Inconclusive')
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Released', 'Released', 'NotRevealed'])
    expect(await account(workers[0]!)).toMatchObject({ staked: STAKE, locked: 0n, balance: COLLATERAL / 2n })
    expect(await account(workers[2]!)).toMatchObject({ staked: STAKE - COLLATERAL, locked: 0n })
    expect(await balanceOf(requester)).toBe(3n * REWARD)
  })

  it('a requester that takes a slot of its own job and reveals garbage is slashed, and the honest workers are paid', async () => {
    await requester.stake({ value: STAKE })
    const jobId = await post(3, 3)
    const first = [requester, workers[0]!, workers[1]!]
    const roots = [rootC, rootA, rootA]
    await revealAll(jobId, roots, await commitAll(jobId, roots, first), first)
    expect((await stranger.getJob(jobId)).status).toBe('Escalated')
    const second = workers.slice(2, 5)
    const salts = await commitAll(jobId, [rootA, rootA, rootA], second)
    await h.increaseTime(101)
    await revealAll(jobId, [rootA, rootA, rootA], salts, second)
    expect(await stranger.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: rootA })
    expect(await account(requester)).toMatchObject({ staked: STAKE - COLLATERAL })
    // Its own slot's reward comes back to it, its collateral does not.
    expect(await balanceOf(requester)).toBe(REWARD)
    expect(await balanceOf(workers[0]!)).toBeGreaterThan(REWARD)
  })
})

describe('eligibility', () => {
  it('commits are refused before the commit delay and from workers not drawn yet', async () => {
    const jobId = await post()
    const job = await stranger.getJob(jobId)
    const starts = await Promise.all(workers.map((w) => h.commitFrom(w, jobId)))
    // Nobody before the first eighth of the window, everybody by its end (12 equal stakes).
    for (const start of starts) {
      expect(start).not.toBeNull()
      expect(start!).toBeGreaterThanOrEqual(job.roundStart + 100 / 8 - 1)
    }
    const order = workers.map((w, i) => ({ w, start: starts[i]! })).sort((a, b) => a.start - b.start)
    const late = order.at(-1)!
    await expectMarketError(order[0]!.w.commit({ jobId, resultRoot: rootA }), 'MarketNotEligible', [jobId, order[0]!.w.account!.address])
    await h.commitWhenEligible(order[0]!.w, { jobId, resultRoot: rootA })
    // Anvil's next block is a few seconds later at most.
    if (late.start > order[0]!.start + 5) await expectMarketError(late.w.commit({ jobId, resultRoot: rootA }), 'MarketNotEligible')
  })

  it('stake deposited after the job was posted does not count for it', async () => {
    const jobId = await post()
    await poor.stake({ value: 1000n * ETH })
    expect(await h.commitFrom(poor, jobId)).toBeNull()
    await h.increaseTime(95)
    await expectMarketError(poor.commit({ jobId, resultRoot: rootA }), 'MarketNotEligible', [jobId, poor.account!.address])
    // A later job counts it.
    expect(await h.commitFrom(poor, await post())).not.toBeNull()
  })

  it('a drawn worker still needs free stake for the collateral', async () => {
    await poor.stake({ value: COLLATERAL + COLLATERAL / 2n })
    const first = await post()
    await h.commitWhenEligible(poor, { jobId: first, resultRoot: rootA })
    const second = await post()
    const from = await h.commitFrom(poor, second)
    await h.increaseTime(from! - (await h.now()) + 1)
    await expectMarketError(poor.commit({ jobId: second, resultRoot: rootA }), 'MarketInsufficientFreeStake', [poor.account!.address, COLLATERAL / 2n, COLLATERAL])
  })

  it('the round seed is not readable in the block the job was posted in', async () => {
    const [, requesterAccount, workerAccount] = devAccounts(3)
    const requesterWallet = createWalletClient({ account: requesterAccount!, transport: http(h.anvil.rpcUrl) })
    const workerWallet = createWalletClient({ account: workerAccount!, transport: http(h.anvil.rpcUrl) })
    await h.testClient.setAutomine(false)
    try {
      const jobId = (await requester.getTotals()).jobCount + 1n
      const postHash = await requesterWallet.writeContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'postJob', args: [specHash, 1, 1, 100, 100], value: REWARD, chain: null, gas: 300_000n })
      const commitHash = await workerWallet.writeContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'commit', args: [jobId, keccak256(toHex('seal'))], chain: null, gas: 300_000n })
      await h.testClient.mine({ blocks: 1 })
      expect((await h.publicClient.getTransactionReceipt({ hash: postHash })).status).toBe('success')
      expect((await h.publicClient.getTransactionReceipt({ hash: commitHash })).status).toBe('reverted')
    } finally {
      await h.testClient.setAutomine(true)
    }
  })

  it("the round's first commit stores its seed, which holds however many blocks the round lasts", async () => {
    const jobId = await post()
    const { seedBlock } = await stranger.getJob(jobId)
    expect(BigInt((await stranger.getJob(jobId)).seed)).toBe(0n)
    await commitAll(jobId, [rootA])
    const seed = (await stranger.getJob(jobId)).seed
    const hash = (await h.publicClient.getBlock({ blockNumber: seedBlock })).hash
    expect(BigInt(seed)).toBe((BigInt(hash) & ((1n << 88n) - 1n)) | 1n)
    // 300 blocks later the seed block's hash is out of blockhash's reach; commits still draw on the stored seed.
    await h.testClient.mine({ blocks: 300 })
    await commitAll(jobId, [rootA, rootA], workers.slice(1))
    expect(await stranger.getJob(jobId)).toMatchObject({ committed: 3, seed })
  })

  it('the seed block is found again from 256 blocks on, through the latest anchor', async () => {
    const read = (seedBlock: bigint, blockNumber: bigint) =>
      h.publicClient.readContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'seedBlockFor', args: [seedBlock, blockNumber] })
    expect(await read(100n, 356n)).toBe(100n)
    expect(await read(100n, 357n)).toBe(356n)
    expect(await read(100n, 612n)).toBe(356n)
    expect(await read(100n, 613n)).toBe(612n)
  })
})

describe('commit and reveal guards', () => {
  it('a copied seal can never be revealed', async () => {
    const jobId = await post(2)
    const [honestSalt] = await commitAll(jobId, [rootA])
    // Before reveal the slot holds the seal (its top 224 bits), public to everybody.
    const [honestSlot] = await h.publicClient.readContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'getSlots', args: [jobId] })
    const honestSeal = honestSlot!.root
    const copier = workers[1]!
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: rootA, salt: honestSalt! }), 'MarketRevealNotOpen')
    // The copier commits the honest worker's seal verbatim, once it is drawn...
    const from = await h.commitFrom(copier, jobId)
    if ((await h.now()) < from!) await h.testClient.setNextBlockTimestamp({ timestamp: BigInt(from!) })
    const copierWallet = createWalletClient({ account: devAccounts(4)[3]!, transport: http(h.anvil.rpcUrl) })
    await copierWallet.writeContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'commit', args: [jobId, honestSeal], chain: null })
    await workers[0]!.reveal({ jobId, resultRoot: rootA, salt: honestSalt! })
    // ...and even with the revealed root and salt in hand it cannot open it: the seal binds the address.
    await expectMarketError(copier.reveal({ jobId, resultRoot: rootA, salt: honestSalt! }), 'MarketSealMismatch', [jobId, copier.account!.address])
    await h.increaseTime(250)
    await stranger.finalize(jobId)
    // The silent copier escalates the job; nobody comes in the second round, and one reveal is
    // short of the quorum of 2: inconclusive, and the copier's collateral goes to the honest revealer.
    await h.increaseTime(101)
    await stranger.finalize(jobId)
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Released', 'NotRevealed'])
    expect((await account(copier)).staked).toBe(STAKE - COLLATERAL)
    expect(await balanceOf(workers[0]!)).toBe(COLLATERAL)
  })

  it('reveal too early and too late', async () => {
    const jobId = await post()
    const [salt] = await commitAll(jobId, [rootA])
    const job = await stranger.getJob(jobId)
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: rootA, salt: salt! }), 'MarketRevealNotOpen', [jobId, BigInt(job.commitDeadline)])
    await h.increaseTime(250)
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: rootA, salt: salt! }), 'MarketRevealClosed', [jobId, BigInt(job.revealDeadline)])
  })

  it('reveal with the wrong root, twice, or without a slot', async () => {
    const jobId = await post(1)
    const [salt] = await commitAll(jobId, [rootA])
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: rootB, salt: salt! }), 'MarketSealMismatch')
    await expectMarketError(stranger.reveal({ jobId, resultRoot: rootA, salt: salt! }), 'MarketNotCommitted', [jobId, stranger.account!.address])
    await workers[0]!.reveal({ jobId, resultRoot: rootA, salt: salt! })
    // One replica: that reveal settled the job.
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: rootA, salt: salt! }), 'MarketJobNotOpen', [jobId, 3])
  })

  it('double commit, full round and late commit are refused', async () => {
    const jobId = await post(2)
    await commitAll(jobId, [rootA])
    await expectMarketError(workers[0]!.commit({ jobId, resultRoot: rootB }), 'MarketAlreadyCommitted', [jobId, workers[0]!.account!.address])
    await h.commitWhenEligible(workers[1]!, { jobId, resultRoot: rootA })
    const from = await h.commitFrom(workers[2]!, jobId)
    if ((await h.now()) < from!) await h.increaseTime(from! - (await h.now()))
    await expectMarketError(workers[2]!.commit({ jobId, resultRoot: rootA }), 'MarketJobFull', [jobId])
    const late = await post(2)
    const { commitDeadline } = await stranger.getJob(late)
    await h.increaseTime(150)
    await expectMarketError(workers[0]!.commit({ jobId: late, resultRoot: rootA }), 'MarketCommitClosed', [late, BigInt(commitDeadline)])
  })
})

describe('staking', () => {
  it('a peer id is registered with its 64-byte signature, which the contract keeps for clients to check', async () => {
    const w = workers[0]!
    const peer = { peerId: toHex(`peer-${w.account!.address}`), signature: toHex(new Uint8Array(64).fill(7)) }
    await w.registerPeer(peer)
    expect(await w.getPeer(w.account!.address)).toEqual(peer)
    await expectMarketError(w.registerPeer({ ...peer, signature: toHex(new Uint8Array(63)) }), 'MarketPeerSignatureInvalid', [63n])
    await expectMarketError(w.registerPeer({ ...peer, peerId: toHex(new Uint8Array(129)) }), 'MarketPeerIdTooLong', [129n, 128n])
    await expectMarketError(w.stake({ value: 0n }), 'MarketZeroAmount')
  })

  it('a stake keeps whole gwei and credits the rest to the balance', async () => {
    await poor.stake({ value: ETH + 5n })
    expect(await account(poor)).toMatchObject({ staked: ETH, balance: 5n })
    expect((await requester.getTotals()).totalStaked).toBe(12n * STAKE + ETH)
  })

  it('collateral locked before an unstake request stays slashable until its job settles', async () => {
    const jobId = await post()
    const salts = await commitAll(jobId, [rootA, rootB, rootA])
    const w = workers[1]!
    await expectMarketError(w.requestUnstake(STAKE), 'MarketStakeLocked', [STAKE, STAKE - COLLATERAL])
    await w.requestUnstake(STAKE - COLLATERAL)
    expect(await account(w)).toMatchObject({ staked: COLLATERAL, locked: COLLATERAL, unbonding: STAKE - COLLATERAL })
    await revealAll(jobId, [rootA, rootB, rootA], salts)
    await h.increaseTime(101)
    await stranger.finalize(jobId)
    expect(await account(w)).toMatchObject({ staked: 0n, locked: 0n, unbonding: STAKE - COLLATERAL })
    await h.increaseTime(1000)
    await w.withdrawStake()
    expect(await account(w)).toMatchObject({ staked: 0n, unbonding: 0n })
  })

  it('unbonding stake is withdrawable only after the unbonding period', async () => {
    const w = workers[0]!
    const { receipt } = await w.requestUnstake(4n * ETH)
    const block = await h.publicClient.getBlock({ blockNumber: receipt.blockNumber })
    const end = block.timestamp + 1000n
    await expectMarketError(w.withdrawStake(), 'MarketStillUnbonding', [end])
    await expectMarketError(w.requestUnstake(1n), 'MarketNotWholeGwei', [1n])
    await h.increaseTime(1000)
    const before = await h.ethBalance(w.account!.address)
    const withdrawn = await w.withdrawStake()
    const after = await h.ethBalance(w.account!.address)
    expect(after - before + withdrawn.receipt.gasUsed * withdrawn.receipt.effectiveGasPrice).toBe(4n * ETH)
    expect(await account(w)).toMatchObject({ staked: 6n * ETH, unbonding: 0n })
    expect((await requester.getTotals()).totalStaked).toBe(12n * STAKE - 4n * ETH)
    await expectMarketError(w.withdrawStake(), 'MarketNothingToWithdraw')
    await expectMarketError(w.requestUnstake(0n), 'MarketZeroAmount')
  })
})

describe('posting and expiry', () => {
  it('postJob validates replicas, quorum, windows and escrow', async () => {
    const base = { specHash, commitWindow: 100, revealWindow: 100, reward: REWARD }
    await expectMarketError(requester.postJob({ ...base, replicas: 0, quorum: 1 }), 'MarketInvalidReplicas', [0n, 16n])
    await expectMarketError(requester.postJob({ ...base, replicas: 17 }), 'MarketInvalidReplicas', [17n, 16n])
    await expectMarketError(requester.postJob({ ...base, replicas: 4, quorum: 2 }), 'MarketInvalidQuorum', [2n, 3n, 4n])
    await expectMarketError(requester.postJob({ ...base, replicas: 3, quorum: 4 }), 'MarketInvalidQuorum', [4n, 2n, 3n])
    await expectMarketError(requester.postJob({ ...base, replicas: 3, commitWindow: 5 }), 'MarketInvalidCommitWindow', [5n, 10n, 10_000n])
    await expectMarketError(requester.postJob({ ...base, replicas: 3, revealWindow: 20_000 }), 'MarketInvalidRevealWindow', [20_000n, 10n, 10_000n])
    await expectMarketError(requester.postJob({ ...base, replicas: 3, reward: 0n }), 'MarketInvalidEscrow', [0n, 3n])
    await expectMarketError(requester.postJob({ ...base, replicas: 3, reward: REWARD + 1n }), 'MarketInvalidEscrow', [3n * (REWARD + 1n), 3n])
    const { jobId, receipt } = await requester.postJob({ ...base, replicas: 16, quorum: 16 })
    expect(await stranger.getJob(jobId)).toMatchObject({ status: 'Open', replicas: 16, quorum: 16, round: 0, roundSlots: 16, reward: REWARD, seedBlock: receipt.blockNumber })
    // 16 replicas escalate to 31 slots: collateral covers 31 rewards.
    expect((await stranger.getJob(jobId)).collateral).toBe(31n * REWARD)
    expect(await stranger.getJobSpecHash(jobId)).toBe(specHash)
  })

  it('a job nobody committed to expires after the commit deadline and is refunded', async () => {
    const jobId = await post()
    const { commitDeadline } = await stranger.getJob(jobId)
    await expectMarketError(stranger.finalize(jobId), 'MarketFinalizeTooEarly', [jobId, BigInt(commitDeadline + 1)])
    await h.increaseTime(101)
    await stranger.finalize(jobId)
    expect((await stranger.getJob(jobId)).status).toBe('Expired')
    expect(await balanceOf(requester)).toBe(3n * REWARD)
    const events = await stranger.getJobEvents(jobId)
    expect(events.map((e) => e.eventName)).toEqual(['JobPosted', 'JobFinalized', 'RequesterRefunded'])
  })

  it('unknown jobs read as None and cannot be used', async () => {
    expect((await stranger.getJob(chainJobId(999n))).status).toBe('None')
    expect(await stranger.getSlots(chainJobId(999n))).toEqual([])
    await expectMarketError(workers[0]!.commit({ jobId: chainJobId(999n), resultRoot: rootA }), 'MarketJobNotOpen', [999n, 0])
  })
})

describe('reentrancy', () => {
  it('a worker contract that re-enters on payment is paid exactly once', async () => {
    const deployer = devAccounts(ACCOUNTS)[16]!
    const wallet = createWalletClient({ account: deployer, transport: http(h.anvil.rpcUrl) })
    const deployHash = await wallet.deployContract({ abi: reentrantWorkerAbi, bytecode: reentrantWorkerBytecode, args: [h.market], chain: null })
    const attacker = (await h.publicClient.waitForTransactionReceipt({ hash: deployHash })).contractAddress!
    const call = async (functionName: 'stake' | 'commit' | 'reveal' | 'withdraw' | 'setAttack' | 'requestUnstake' | 'withdrawStake', args: readonly unknown[] = [], value?: bigint) => {
      const hash = await wallet.writeContract({ address: attacker, abi: reentrantWorkerAbi, functionName, args, value, chain: null } as never)
      return h.publicClient.waitForTransactionReceipt({ hash })
    }
    const read = (functionName: 'reentrySucceeded' | 'lastReentryError') => h.publicClient.readContract({ address: attacker, abi: reentrantWorkerAbi, functionName })

    await call('stake', [], 5n * ETH)
    const marketBefore = await h.ethBalance(h.market)
    const jobId = await post(1)
    // Its one slot: move time until the contract's ticket is drawn.
    const asClient = { ...stranger, account: { address: attacker } } as unknown as MarketClient
    const from = await h.commitFrom(asClient, jobId)
    await h.testClient.setNextBlockTimestamp({ timestamp: BigInt(from!) })
    const salt = keccak256(toHex('salt'))
    await call('commit', [jobId, computeSeal({ jobId, worker: attacker, resultRoot: rootA, salt })])
    await call('reveal', [jobId, rootA, salt])
    expect((await stranger.getAccount(attacker)).balance).toBe(REWARD)

    await call('setAttack', [1, 0n])
    await call('withdraw')
    expect(await read('reentrySucceeded')).toBe(0n)
    const blocked = decodeErrorResult({ abi: sandrunMarketAbi, data: (await read('lastReentryError')) as Hex })
    expect(blocked.errorName).toBe('ReentrancyGuardReentrantCall')
    expect(await h.ethBalance(h.market)).toBe(marketBefore)
    expect(await h.ethBalance(attacker)).toBe(REWARD)

    await call('requestUnstake', [5n * ETH])
    await h.increaseTime(1000)
    await call('setAttack', [2, 0n])
    await call('withdrawStake')
    expect(await read('reentrySucceeded')).toBe(0n)
    expect(await h.ethBalance(attacker)).toBe(REWARD + 5n * ETH)
    // What is left is exactly the twelve honest workers' stakes.
    expect(await h.ethBalance(h.market)).toBe(12n * STAKE)
  })
})
