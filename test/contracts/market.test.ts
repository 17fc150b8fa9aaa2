// Scenario tests of SandrunMarket on a real anvil: consensus outcomes, slashing, every guard and
// its custom error, and a worker contract that re-enters on payment.
import { createWalletClient, decodeErrorResult, http, keccak256, toHex, type Hex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { reentrantWorkerAbi, reentrantWorkerBytecode } from '../../contracts/testing/abi.ts'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { computeSeal } from '../../node/chain/seal.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { ETH, expectMarketError, startMarketHarness, type MarketHarness } from './marketHarness.ts'
import type { MarketClient } from '../../node/chain/marketClient.ts'

const rootA = keccak256(toHex('result A'))
const rootB = keccak256(toHex('result B'))
const rootC = keccak256(toHex('result C'))
const specHash = keccak256(toHex('spec'))
const REWARD = 1n * ETH // collateral = max(1 ETH, 2 x 1 ETH) = 2 ETH
const COLLATERAL = 2n * ETH

let h: MarketHarness
let snapshotId: Hex
let requester: MarketClient
let workers: MarketClient[]
let stranger: MarketClient
let poor: MarketClient

beforeAll(async () => {
  h = await startMarketHarness({ accounts: 9 })
  requester = h.clients[1]!
  workers = h.clients.slice(2, 6)
  stranger = h.clients[6]!
  poor = h.clients[7]!
  for (const w of workers) await w.stake({ value: 10n * ETH, peerId: toHex(`peer-${w.account!.address}`) })
  snapshotId = await h.snapshot()
})
afterAll(async () => h?.stop())
beforeEach(async () => {
  await h.revert(snapshotId)
  snapshotId = await h.snapshot()
})
afterEach(async () => {
  await h.revert(snapshotId)
  snapshotId = await h.snapshot()
})

async function post(replicas = 3, reward = REWARD, quorum?: number): Promise<bigint> {
  const { jobId } = await requester.postJob({ specHash, replicas, quorum, commitWindow: 100, revealWindow: 100, reward })
  return jobId
}

/** Commit `roots[i]` from workers[i]; returns the salts. */
async function commitAll(jobId: bigint, roots: Hex[]): Promise<Hex[]> {
  const salts: Hex[] = []
  for (const [i, root] of roots.entries()) salts.push((await workers[i]!.commit({ jobId, resultRoot: root })).salt)
  return salts
}

async function revealAll(jobId: bigint, roots: Hex[], salts: Hex[]): Promise<void> {
  for (const [i, root] of roots.entries()) await workers[i]!.reveal({ jobId, resultRoot: root, salt: salts[i]! })
}

describe('consensus', () => {
  it('3/3 agree: every worker is paid the reward and a stranger can finalize', async () => {
    const jobId = await post()
    const roots = [rootA, rootA, rootA]
    await revealAll(jobId, roots, await commitAll(jobId, roots))
    expect((await workers[0]!.getAccount(workers[0]!.account!.address)).locked).toBe(COLLATERAL)

    await stranger.finalize(jobId)
    const job = await stranger.getJob(jobId)
    expect(job.status).toBe('Finalized')
    expect(job.consensusRoot).toBe(rootA)
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Won', 'Won', 'Won'])
    for (const w of workers.slice(0, 3)) {
      const account = await w.getAccount(w.account!.address)
      expect(account).toMatchObject({ staked: 10n * ETH, locked: 0n, balance: REWARD })
    }
    expect((await stranger.getAccount(stranger.account!.address)).balance).toBe(0n)
    expect((await requester.getAccount(requester.account!.address)).balance).toBe(0n)

    const before = await h.ethBalance(workers[0]!.account!.address)
    const { receipt } = await workers[0]!.withdraw()
    const after = await h.ethBalance(workers[0]!.account!.address)
    expect(after - before + receipt.gasUsed * receipt.effectiveGasPrice).toBe(REWARD)
    await expectMarketError(workers[0]!.withdraw(), 'MarketNothingToWithdraw')
  })

  it('2 vs 1: the dissenter is slashed and the winners share its collateral', async () => {
    const jobId = await post()
    const roots = [rootA, rootB, rootA]
    await revealAll(jobId, roots, await commitAll(jobId, roots))
    await stranger.finalize(jobId)

    expect((await stranger.getJob(jobId)).consensusRoot).toBe(rootA)
    const slots = await stranger.getSlots(jobId)
    expect(slots.map((s) => s.outcome)).toEqual(['Won', 'Dissented', 'Won'])
    expect(slots[1]).toMatchObject({ revealedRoot: rootB, slashed: true })
    const [w0, w1, w2] = await Promise.all(workers.slice(0, 3).map((w) => w.getAccount(w.account!.address)))
    expect(w0).toMatchObject({ balance: REWARD + COLLATERAL / 2n, locked: 0n, staked: 10n * ETH })
    expect(w2).toMatchObject({ balance: REWARD + COLLATERAL / 2n, locked: 0n, staked: 10n * ETH })
    expect(w1).toMatchObject({ balance: 0n, locked: 0n, staked: 10n * ETH - COLLATERAL })
    // The dissenter's reward goes back to the requester.
    expect((await requester.getAccount(requester.account!.address)).balance).toBe(REWARD)
  })

  it('1/1/1 is inconclusive: the requester is refunded and revealers keep their stake', async () => {
    const jobId = await post()
    const roots = [rootA, rootB, rootC]
    await revealAll(jobId, roots, await commitAll(jobId, roots))
    await stranger.finalize(jobId)

    const job = await stranger.getJob(jobId)
    expect(job.status).toBe('Inconclusive')
    expect(job.consensusRoot).toBeNull()
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Released', 'Released', 'Released'])
    expect((await requester.getAccount(requester.account!.address)).balance).toBe(3n * REWARD)
    for (const w of workers.slice(0, 3)) {
      expect(await w.getAccount(w.account!.address)).toMatchObject({ staked: 10n * ETH, locked: 0n, balance: 0n })
    }
  })

  it('a non-revealer is slashed once the reveal window closes, and its collateral goes to the winners', async () => {
    const jobId = await post()
    const salts = await commitAll(jobId, [rootA, rootA, rootA])
    await revealAll(jobId, [rootA, rootA], salts)
    await expectMarketError(stranger.finalize(jobId), 'MarketFinalizeTooEarly')
    await h.increaseTime(250)
    await stranger.finalize(jobId)

    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Won', 'Won', 'NotRevealed'])
    expect(await workers[2]!.getAccount(workers[2]!.account!.address)).toMatchObject({ staked: 10n * ETH - COLLATERAL, locked: 0n })
    expect((await workers[0]!.getAccount(workers[0]!.account!.address)).balance).toBe(REWARD + COLLATERAL / 2n)
  })

  it('in an inconclusive job a non-revealer is slashed to the requester', async () => {
    const jobId = await post()
    const salts = await commitAll(jobId, [rootA, rootB, rootA])
    await revealAll(jobId, [rootA, rootB], salts)
    await h.increaseTime(250)
    await stranger.finalize(jobId)
    expect((await stranger.getJob(jobId)).status).toBe('Inconclusive')
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Released', 'Released', 'NotRevealed'])
    expect((await requester.getAccount(requester.account!.address)).balance).toBe(3n * REWARD + COLLATERAL)
  })

  it('unfilled slots are refunded to the requester', async () => {
    const jobId = await post(3, REWARD, 2)
    const salts = await commitAll(jobId, [rootA, rootA])
    await h.increaseTime(101) // commit window over with one slot empty: reveals open
    await revealAll(jobId, [rootA, rootA], salts)
    await stranger.finalize(jobId) // all committed slots revealed: no need to wait for the deadline
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Won', 'Won', 'Empty'])
    expect((await requester.getAccount(requester.account!.address)).balance).toBe(REWARD)
  })

  it('finalize cannot run twice', async () => {
    const jobId = await post(1)
    await revealAll(jobId, [rootA], await commitAll(jobId, [rootA]))
    await stranger.finalize(jobId)
    await expectMarketError(stranger.finalize(jobId), 'MarketJobNotOpen', [jobId, 2])
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
    await expectMarketError(copier.reveal({ jobId, resultRoot: rootA, salt: honestSalt! }), 'MarketRevealNotOpen')
    // The copier commits the honest worker's seal verbatim...
    const copierWallet = createWalletClient({ account: devAccounts(9)[3]!, transport: http(h.anvil.rpcUrl) })
    await copierWallet.writeContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'commit', args: [jobId, honestSeal], chain: null })
    await workers[0]!.reveal({ jobId, resultRoot: rootA, salt: honestSalt! })
    // ...and even with the revealed root and salt in hand it cannot open it: the seal binds the address.
    await expectMarketError(copier.reveal({ jobId, resultRoot: rootA, salt: honestSalt! }), 'MarketSealMismatch', [jobId, copier.account!.address])
    await h.increaseTime(250)
    await stranger.finalize(jobId)
    // Quorum of 2 replicas is 2, so the job is inconclusive, but the copier loses its collateral.
    expect((await stranger.getSlots(jobId)).map((s) => s.outcome)).toEqual(['Released', 'NotRevealed'])
    expect((await copier.getAccount(copier.account!.address)).staked).toBe(10n * ETH - COLLATERAL)
  })

  it('reveal too early and too late', async () => {
    const jobId = await post()
    const job = await stranger.getJob(jobId)
    const [salt] = await commitAll(jobId, [rootA])
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
    await expectMarketError(workers[0]!.reveal({ jobId, resultRoot: rootA, salt: salt! }), 'MarketAlreadyRevealed', [jobId, workers[0]!.account!.address])
  })

  it('double commit, full job and late commit are refused', async () => {
    const jobId = await post(2)
    await commitAll(jobId, [rootA])
    await expectMarketError(workers[0]!.commit({ jobId, resultRoot: rootB }), 'MarketAlreadyCommitted', [jobId, workers[0]!.account!.address])
    await workers[1]!.commit({ jobId, resultRoot: rootA })
    await expectMarketError(workers[2]!.commit({ jobId, resultRoot: rootA }), 'MarketJobFull', [jobId])
    const late = await post(2)
    const { commitDeadline } = await stranger.getJob(late)
    await h.increaseTime(150)
    await expectMarketError(workers[0]!.commit({ jobId: late, resultRoot: rootA }), 'MarketCommitClosed', [late, BigInt(commitDeadline)])
  })

  it('commit needs enough free stake for the collateral', async () => {
    const jobId = await post()
    await expectMarketError(poor.commit({ jobId, resultRoot: rootA }), 'MarketInsufficientFreeStake', [poor.account!.address, 0n, COLLATERAL])
    await poor.stake({ value: 3n * ETH })
    await poor.commit({ jobId, resultRoot: rootA })
    const second = await post()
    await expectMarketError(poor.commit({ jobId: second, resultRoot: rootA }), 'MarketInsufficientFreeStake', [poor.account!.address, 1n * ETH, COLLATERAL])
  })
})

describe('staking', () => {
  it('stake registers the peer id and refuses zero', async () => {
    const w = workers[0]!
    expect(await w.getPeerId(w.account!.address)).toBe(toHex(`peer-${w.account!.address}`))
    await expectMarketError(w.stake({ value: 0n }), 'MarketZeroAmount')
    await expectMarketError(w.stake({ value: 1n, peerId: toHex(new Uint8Array(129)) }), 'MarketPeerIdTooLong', [129n, 128n])
  })

  it('locked collateral cannot be unstaked', async () => {
    const w = workers[0]!
    const jobId = await post()
    await w.commit({ jobId, resultRoot: rootA })
    await expectMarketError(w.requestUnstake(9n * ETH), 'MarketStakeLocked', [9n * ETH, 8n * ETH])
    await w.requestUnstake(8n * ETH)
    expect(await w.getAccount(w.account!.address)).toMatchObject({ staked: 2n * ETH, locked: 2n * ETH, unbonding: 8n * ETH })
  })

  it('unbonding stake is withdrawable only after the unbonding period', async () => {
    const w = workers[0]!
    const { receipt } = await w.requestUnstake(4n * ETH)
    const block = await h.publicClient.getBlock({ blockNumber: receipt.blockNumber })
    const end = block.timestamp + 1000n
    await expectMarketError(w.withdrawStake(), 'MarketStillUnbonding', [end])
    await h.increaseTime(1000)
    const before = await h.ethBalance(w.account!.address)
    const withdrawn = await w.withdrawStake()
    const after = await h.ethBalance(w.account!.address)
    expect(after - before + withdrawn.receipt.gasUsed * withdrawn.receipt.effectiveGasPrice).toBe(4n * ETH)
    expect(await w.getAccount(w.account!.address)).toMatchObject({ staked: 6n * ETH, unbonding: 0n })
    await expectMarketError(w.withdrawStake(), 'MarketNothingToWithdraw')
    await expectMarketError(w.requestUnstake(0n), 'MarketZeroAmount')
  })
})

describe('posting, cancelling and expiry', () => {
  it('postJob validates replicas, quorum, windows and escrow', async () => {
    const base = { specHash, commitWindow: 100, revealWindow: 100, reward: REWARD }
    await expectMarketError(requester.postJob({ ...base, replicas: 0, quorum: 1 }), 'MarketInvalidReplicas', [0n, 16n])
    await expectMarketError(requester.postJob({ ...base, replicas: 17 }), 'MarketInvalidReplicas', [17n, 16n])
    await expectMarketError(requester.postJob({ ...base, replicas: 4, quorum: 2 }), 'MarketInvalidQuorum', [2n, 3n, 4n])
    await expectMarketError(requester.postJob({ ...base, replicas: 3, quorum: 4 }), 'MarketInvalidQuorum', [4n, 2n, 3n])
    await expectMarketError(requester.postJob({ ...base, replicas: 3, commitWindow: 5 }), 'MarketInvalidCommitWindow', [5n, 10n, 10_000n])
    await expectMarketError(requester.postJob({ ...base, replicas: 3, revealWindow: 20_000 }), 'MarketInvalidRevealWindow', [20_000n, 10n, 10_000n])
    await expectMarketError(requester.postJob({ ...base, replicas: 3, reward: 0n }), 'MarketInvalidEscrow', [0n, 3n])
    const jobId = await post(16, REWARD, 16)
    expect(await stranger.getJob(jobId)).toMatchObject({ status: 'Open', replicas: 16, quorum: 16, specHash, reward: REWARD, collateral: COLLATERAL })
  })

  it('cancel: only the requester, only before any commit', async () => {
    const jobId = await post()
    await expectMarketError(stranger.cancel(jobId), 'MarketNotRequester', [jobId, stranger.account!.address])
    await requester.cancel(jobId)
    expect((await stranger.getJob(jobId)).status).toBe('Cancelled')
    expect((await requester.getAccount(requester.account!.address)).balance).toBe(3n * REWARD)
    await expectMarketError(requester.cancel(jobId), 'MarketJobNotOpen', [jobId, 4])
    await expectMarketError(workers[0]!.commit({ jobId, resultRoot: rootA }), 'MarketJobNotOpen', [jobId, 4])

    const committed = await post()
    await workers[0]!.commit({ jobId: committed, resultRoot: rootA })
    await expectMarketError(requester.cancel(committed), 'MarketJobHasCommits', [committed])
  })

  it('a job nobody committed to expires after the commit deadline and is refunded', async () => {
    const jobId = await post()
    const { commitDeadline } = await stranger.getJob(jobId)
    await expectMarketError(stranger.finalize(jobId), 'MarketFinalizeTooEarly', [jobId, BigInt(commitDeadline + 1)])
    await h.increaseTime(101)
    await stranger.finalize(jobId)
    expect((await stranger.getJob(jobId)).status).toBe('Expired')
    expect((await requester.getAccount(requester.account!.address)).balance).toBe(3n * REWARD)
    const events = await stranger.getJobEvents(jobId)
    expect(events.map((e) => e.eventName)).toEqual(['JobPosted', 'JobFinalized', 'RequesterRefunded'])
  })

  it('unknown jobs read as None and cannot be used', async () => {
    expect((await stranger.getJob(999n)).status).toBe('None')
    await expectMarketError(workers[0]!.commit({ jobId: 999n, resultRoot: rootA }), 'MarketJobNotOpen', [999n, 0])
  })
})

describe('reentrancy', () => {
  it('a worker contract that re-enters on payment is paid exactly once', async () => {
    const deployer = devAccounts(9)[8]!
    const wallet = createWalletClient({ account: deployer, transport: http(h.anvil.rpcUrl) })
    const deployHash = await wallet.deployContract({ abi: reentrantWorkerAbi, bytecode: reentrantWorkerBytecode, args: [h.market], chain: null })
    const attacker = (await h.publicClient.waitForTransactionReceipt({ hash: deployHash })).contractAddress!
    const call = async (functionName: 'stake' | 'commit' | 'reveal' | 'withdraw' | 'setAttack' | 'requestUnstake' | 'withdrawStake', args: readonly unknown[] = [], value?: bigint) => {
      const hash = await wallet.writeContract({ address: attacker, abi: reentrantWorkerAbi, functionName, args, value, chain: null } as never)
      return h.publicClient.waitForTransactionReceipt({ hash })
    }
    const read = (functionName: 'reentrySucceeded' | 'lastReentryError') =>
      h.publicClient.readContract({ address: attacker, abi: reentrantWorkerAbi, functionName })

    await call('stake', [], 5n * ETH)
    const jobId = await post(1)
    const salt = keccak256(toHex('salt'))
    await call('commit', [jobId, computeSeal({ jobId, worker: attacker, resultRoot: rootA, salt })])
    await call('reveal', [jobId, rootA, salt])
    await stranger.finalize(jobId)
    expect((await stranger.getAccount(attacker)).balance).toBe(REWARD)

    await call('setAttack', [1, 0n])
    const marketBefore = await h.ethBalance(h.market)
    await call('withdraw')
    expect(await read('reentrySucceeded')).toBe(0n)
    const blocked = decodeErrorResult({ abi: sandrunMarketAbi, data: (await read('lastReentryError')) as Hex })
    expect(blocked.errorName).toBe('ReentrancyGuardReentrantCall')
    expect(marketBefore - (await h.ethBalance(h.market))).toBe(REWARD)
    expect(await h.ethBalance(attacker)).toBe(REWARD)

    await call('requestUnstake', [5n * ETH])
    await h.increaseTime(1000)
    await call('setAttack', [2, 0n])
    await call('withdrawStake')
    expect(await read('reentrySucceeded')).toBe(0n)
    expect(await h.ethBalance(attacker)).toBe(REWARD + 5n * ETH)
    // What is left is exactly the four honest workers' stakes.
    expect(await h.ethBalance(h.market)).toBe(40n * ETH)
  })
})
