// Invariant test: seeded random sequences of every market operation over 12 actors and many jobs
// (commits mostly from drawn workers, escalations included), checking after each step that the
// market holds exactly what it owes, its total stake is the sum of the stakes and every job is legal.
// Chain time is the test's own (one second a block, plus the jumps), not the wall clock's, so how
// many jobs finalize or expire does not depend on the machine's speed.
// Reproduce a failure with the seed it prints: SEED=<n> npx vitest run test/contracts/marketInvariant.test.ts
import { keccak256, toHex, type Hex } from 'viem'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { MarketRevertError } from '../../node/chain/errors.ts'
import { createMarketReader, type MarketJob } from '../../node/chain/marketReader.ts'
import { seededRandom } from '../../bench/market/seededRandom.ts'
import { ETH, startMarketHarness, type MarketHarness } from './marketHarness.ts'
import { zeroAddress } from 'viem'
import { type ChainJobId, parseSpecHash, chainJobId } from '../../verifier/index.ts'

// The outcome of a seed also depends on timing (which sends revert as chain time moves): seed
// 20240611 left one or no job Finalized from run to run, so the "every end state is reached" check
// failed now and then; seed 1 reaches 5-7 Finalized, 13-15 Inconclusive, 51-58 Expired.
const SEED = Number(process.env.SEED ?? 1)
const STEPS = Number(process.env.STEPS ?? 1100)
const ACTORS = 12

const roots = [keccak256(toHex('A')), keccak256(toHex('B')), keccak256(toHex('C'))]

let h: MarketHarness
beforeAll(async () => {
  h = await startMarketHarness({ accounts: ACTORS + 1 })
  // Chain time moves one second a block and by the time jumps only, never with the wall clock: a
  // loaded machine does not let every 10-120 s window run out (a CI run once finalized no job).
  await h.testClient.setBlockTimestampInterval({ interval: 1 })
})
afterAll(async () => h?.stop())

it(`market invariants hold over ${STEPS} random operations (seed ${SEED})`, { timeout: 240_000 }, async () => {
  const random = seededRandom(SEED)
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(random() * xs.length)]
  const actors = h.clients.slice(1, ACTORS + 1)
  const reader = createMarketReader({ publicClient: h.publicClient, address: h.market })

  const jobIds: ChainJobId[] = []
  const open = new Set<ChainJobId>()
  const sealed = new Map<string, { root: Hex; salt: Hex; revealed: boolean }>() // `${jobId}:${actor}`
  const seen = { ops: {} as Record<string, number>, reverts: 0, statuses: {} as Record<string, number>, slashes: 0 }

  type Op = { name: string; weight: number; run(): Promise<unknown> }
  const actor = () => actors[int(0, ACTORS - 1)]!
  const someJob = () => (random() < 0.85 && open.size > 0 ? pick([...open]) : pick(jobIds)) ?? chainJobId(1n)
  const ops: Op[] = [
    { name: 'stake', weight: 10, run: () => actor().stake({ value: BigInt(int(1, 6)) * ETH }) },
    { name: 'requestUnstake', weight: 5, run: () => actor().requestUnstake(BigInt(int(1, 4)) * ETH) },
    { name: 'withdrawStake', weight: 4, run: () => actor().withdrawStake() },
    { name: 'withdraw', weight: 6, run: () => actor().withdraw() },
    {
      name: 'postJob',
      weight: 10,
      run: async () => {
        const replicas = int(1, 5)
        const majority = Math.floor(replicas / 2) + 1
        const { jobId } = await actor().postJob({
          specHash: parseSpecHash(keccak256(toHex(`spec-${jobIds.length}`))),
          replicas,
          quorum: int(majority, replicas),
          commitWindow: int(10, 120),
          revealWindow: int(10, 120),
          reward: BigInt(int(1, 20)) * (ETH / 100n),
        })
        jobIds.push(jobId)
        open.add(jobId)
      },
    },
    {
      name: 'commit',
      weight: 26,
      run: async () => {
        const jobId = someJob()
        const root = random() < 0.7 ? roots[0]! : pick(roots)!
        const salt = keccak256(toHex(`salt-${random()}`))
        // Mostly as real workers would: one that is drawn now, or one moved to the time it is drawn;
        // sometimes one that is not drawn yet, to be refused.
        const candidates = Array.from({ length: 4 }, actor)
        const starts = await Promise.all(candidates.map((c) => h.commitFrom(c, jobId).catch(() => null)))
        const now = await h.now()
        const ready = candidates.findIndex((_, i) => starts[i] !== null && starts[i]! <= now)
        const worker = candidates[Math.max(ready, 0)]!
        const from = starts[Math.max(ready, 0)]
        if (ready < 0 && from !== null && from !== undefined && random() < 0.3) await h.testClient.setNextBlockTimestamp({ timestamp: BigInt(from) })
        await worker.commit({ jobId, resultRoot: root, salt })
        sealed.set(`${jobId}:${worker.account!.address}`, { root, salt, revealed: false })
      },
    },
    {
      name: 'reveal',
      weight: 22,
      run: async () => {
        const pending = [...sealed.entries()].filter(([, s]) => !s.revealed)
        const entry = pick(pending)
        if (!entry) return
        const [key, s] = entry
        const [jobId, address] = key.split(':') as [string, string]
        const worker = actors.find((a) => a.account!.address === address)!
        const root = random() < 0.05 ? roots[2]! : s.root // sometimes a wrong root: must be refused
        await worker.reveal({ jobId: chainJobId(jobId), resultRoot: root, salt: s.salt })
        if (root === s.root) s.revealed = true
      },
    },
    { name: 'finalize', weight: 10, run: () => actor().finalize(someJob()) },
    {
      name: 'timeJump',
      weight: 6,
      run: async () => {
        await h.testClient.setNextBlockTimestamp({ timestamp: BigInt((await h.now()) + int(1, 60)) })
        await h.testClient.mine({ blocks: 1 })
      },
    },
  ]
  const totalWeight = ops.reduce((a, o) => a + o.weight, 0)
  const chooseOp = (): Op => {
    let r = random() * totalWeight
    for (const op of ops) {
      r -= op.weight
      if (r < 0) return op
    }
    return ops[ops.length - 1]!
  }

  function checkJob(job: MarketJob): void {
    expect(['Open', 'Escalated', 'Finalized', 'Inconclusive', 'Expired']).toContain(job.status)
    expect(job.committed).toBeLessThanOrEqual(job.roundSlots)
    expect(job.revealed).toBeLessThanOrEqual(job.committed)
    expect(job.totalRevealed).toBeLessThanOrEqual(job.totalCommitted)
    expect(job.round).toBe(job.status === 'Escalated' ? 1 : 0)
    if (job.status === 'Expired') expect(job.totalCommitted).toBe(0)
    expect(job.consensusRoot !== null).toBe(job.status === 'Finalized')
  }

  async function checkInvariants(jobsToRead: ChainJobId[]): Promise<void> {
    const [balance, accounts, jobs, burned, totals] = await Promise.all([
      h.ethBalance(h.market),
      Promise.all(actors.map((a) => reader.getAccount(a.account!.address))),
      Promise.all(jobsToRead.map((id) => reader.getJob(id))),
      reader.getAccount(zeroAddress),
      reader.getTotals(),
    ])
    let owed = burned.balance
    let locked = 0n
    let staked = 0n
    for (const a of accounts) {
      expect(a.locked).toBeLessThanOrEqual(a.staked)
      owed += a.staked + a.unbonding + a.balance
      locked += a.locked
      staked += a.staked
    }
    expect(totals.totalStaked, 'total stake == sum of the stakes').toBe(staked)
    let lockedByJobs = 0n
    for (const job of jobs) {
      checkJob(job)
      if (job.status === 'Open' || job.status === 'Escalated') {
        owed += job.reward * BigInt(job.replicas)
        lockedByJobs += job.collateral * BigInt(job.totalCommitted)
      } else if (open.delete(job.jobId)) {
        seen.statuses[job.status] = (seen.statuses[job.status] ?? 0) + 1
      }
    }
    expect(balance, 'market ETH balance == stakes + unbonding + balances + open escrows').toBe(owed)
    expect(locked, 'locked stake == collateral of open jobs').toBe(lockedByJobs)
  }

  /** Terminal jobs never change; every so often re-read them all, slots included. */
  async function fullSweep(): Promise<void> {
    for (const jobId of jobIds) {
      const [job, slots] = await Promise.all([reader.getJob(jobId), reader.getSlots(jobId)])
      checkJob(job)
      const won = slots.filter((s) => s.outcome === 'Won')
      if (job.status === 'Finalized') {
        expect(won.length).toBeGreaterThanOrEqual(job.quorum)
        for (const s of won) expect(s.revealedRoot).toBe(job.consensusRoot)
      } else {
        expect(won).toHaveLength(0)
      }
      if (job.status === 'Open') for (const s of slots) expect(['Empty', 'Committed', 'Revealed']).toContain(s.outcome)
      seen.slashes += slots.filter((s) => s.slashed).length
    }
  }

  // Most workers stake before the first job, as on a live market (stake younger than a job's seed
  // does not count for it); more stake arrives during the run.
  for (const a of actors) await a.stake({ value: BigInt(int(2, 6)) * ETH })
  const escalations = async () => (await h.publicClient.getContractEvents({ address: h.market, abi: sandrunMarketAbi, eventName: 'JobEscalated', fromBlock: 0n })).length
  // Whether the walk reached every end state, a slash and an escalation (timing decides some of
  // it, not the seed alone): past STEPS it goes on, up to twice as long, until it has.
  const covered = async () => {
    if (!['Finalized', 'Inconclusive', 'Expired'].every((status) => (seen.statuses[status] ?? 0) > 0)) return false
    seen.slashes = 0
    await fullSweep()
    return seen.slashes > 0 && (await escalations()) > 0
  }
  let done = false
  const keepGoing = async (step: number): Promise<boolean> => {
    if (step < STEPS) return true
    if (done || step >= 2 * STEPS) return false
    // Checked every 100 steps past STEPS (a sweep reads every job).
    if ((step - STEPS) % 100 === 0) done = await covered()
    return !done
  }
  for (let step = 0; await keepGoing(step); step++) {
    const op = chooseOp()
    try {
      try {
        await op.run()
      } catch (error) {
        if (!(error instanceof MarketRevertError)) throw error
        seen.reverts++
      }
      seen.ops[op.name] = (seen.ops[op.name] ?? 0) + 1
      await checkInvariants([...open])
      if (step % 250 === 249) await fullSweep()
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      throw new Error(`invariant broken at step ${step} (${op.name}); reproduce with SEED=${SEED} STEPS=${step + 1} npx vitest run test/contracts/marketInvariant.test.ts\n${message}`, { cause: error })
    }
  }
  seen.slashes = 0
  const escalated = await escalations()
  await fullSweep()

  // The sequence must have exercised every phase, or the invariants above proved little.
  for (const op of ops) expect(seen.ops[op.name] ?? 0, `operation ${op.name} never ran`).toBeGreaterThan(0)
  const summary = JSON.stringify(seen)
  process.stderr.write(`market invariants (seed ${SEED}): ${summary}\n`)
  for (const status of ['Finalized', 'Inconclusive', 'Expired']) expect(seen.statuses[status] ?? 0, `no job ended ${status}: ${summary}`).toBeGreaterThan(0)
  expect(seen.slashes, 'nobody was slashed').toBeGreaterThan(0)
  expect(escalated, 'no job escalated').toBeGreaterThan(0)
  expect(seen.reverts).toBeGreaterThan(0)
  expect(jobIds.length).toBeGreaterThan(50)
})
