// The worker's hold on a slot it committed, with the chain as an in-memory neighbour whose moves
// the test decides (the real sandbox and job store run the job): a commit that lands in the
// escalation round, and a commit whose sender failed after it was mined, are both followed to
// their reveal. Each was dropped before, leaving the slot unrevealed and its collateral slashed
// (the sybil test stalled on it in CI: the worker re-took the job and hit MarketAlreadyCommitted).
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { bytesToHex, type Address, type Hash, type Hex, type PublicClient } from 'viem'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { chainHead } from '../../chain/chainHead.ts'
import { MarketRevertError } from '../../chain/errors.ts'
import type { MarketJob, MarketSlot } from '../../chain/marketReader.ts'
import type { TxResult } from '../../chain/marketClient.ts'
import { packFiles } from '../../../sandbox/bundle/packFiles.ts'
import { createSandbox } from '../../../sandbox/createSandbox.ts'
import { parseManifest } from '../../../sandbox/manifest.ts'
import type { Sandbox } from '../../../sandbox/sandbox.ts'
import { openStorage } from '../../storage/openStorage.ts'
import { specDocumentBytes, chainJobId, parseSpecHash, type SpecHash } from '../../../verifier/index.ts'
import { createWorker, type WorkerPhaseEvent } from './createWorker.ts'
import { hostEnvironments } from './hostEnvironments.ts'
import { createJobStore } from './jobStore.ts'
import type { WorkerChain } from './workerChain.ts'

const ETH = 10n ** 18n
const me: Address = '0x00000000000000000000000000000000000000aa'
const other: Address = '0x00000000000000000000000000000000000000bb'
const market: Address = '0x00000000000000000000000000000000000000cc'
const sha256 = (data: Uint8Array): Hex => `0x${createHash('sha256').update(data).digest('hex')}`
const txHash = (): Hash => bytesToHex(randomBytes(32))
const tx = (): TxResult => ({ hash: txHash(), receipt: {} as TxResult['receipt'] })
const slot = (index: number, round: number, worker: Address, revealed = false): MarketSlot => ({
  index,
  round,
  worker,
  committed: true,
  revealed,
  revealedRoot: null,
  outcome: 'Empty',
  slashed: false,
})

let sandbox: Sandbox
let dir: string
beforeAll(async () => {
  sandbox = await createSandbox()
  dir = await mkdtemp(path.join(tmpdir(), 'sandrun-worker-'))
})
afterAll(async () => {
  await sandbox?.close()
  await rm(dir, { recursive: true, force: true })
})

/** A chain of one open job in its first round at chain time 1000, drawn for this worker alone; `onCommit` plays what the commit meets. */
function fakeChain(onCommit: (chain: { job: MarketJob; slots: MarketSlot[]; slotReadFailures: number }) => void, specHash: SpecHash) {
  const state = {
    job: {
      jobId: 1n,
      status: 'Open',
      requester: other,
      reward: ETH / 1000n,
      collateral: ETH / 100n,
      replicas: 1,
      quorum: 1,
      round: 0,
      roundSlots: 1,
      roundStart: 900,
      commitDeadline: 1100,
      revealDeadline: 1300,
      seedBlock: 1n,
      seed: `0x${'01'.padStart(64, '0')}`,
      committed: 0,
      revealed: 0,
      totalCommitted: 0,
      totalRevealed: 0,
      consensusRoot: null,
    } as MarketJob,
    slots: [] as MarketSlot[],
    reveals: [] as Array<{ round: number }>,
    /** Slot reads that fail (an RPC error) before the next one answers. */
    slotReadFailures: 0,
    /** All workers' stake together (this worker stakes 1 ETH). */
    totalStaked: ETH,
    /** The number of the next block. */
    nextBlock: 10n,
  }
  let heads = 0
  const chain: WorkerChain = {
    address: me,
    chainId: 31337,
    market,
    getJob: async () => ({ ...state.job }),
    getSlots: async () => {
      if (state.slotReadFailures > 0) {
        state.slotReadFailures -= 1
        throw new Error('fetch failed')
      }
      return state.slots.map((s) => ({ ...s }))
    },
    getAccount: async () => ({ staked: ETH, locked: 0n, free: ETH, balance: 0n, unbonding: 0n, unbondingEnd: 0, workerIndex: 1, stakeBlock: 0n }),
    getTotals: async () => ({ workerCount: 1, jobCount: 1n, totalStaked: state.totalStaked }),
    getJobSpecHash: async () => specHash,
    getPeer: async () => ({ peerId: '0x', signature: '0x' }) as never,
    // Each read sees a head of its own: the tests change the fake's state between polls, as blocks would.
    nextBlock: async () => ({ number: state.nextBlock, timestamp: 1000, head: `0x${(++heads).toString(16).padStart(64, '0')}` as const }),
    blockHash: async () => `0x${'02'.padStart(64, '0')}`,
    feePerGas: async () => 1n,
    walletBalance: async () => ETH,
    committedJobIds: async () => [],
    stake: async () => tx(),
    registerPeer: async () => tx(),
    async commit() {
      onCommit(state)
      return tx()
    },
    async reveal() {
      const mine = state.slots.find((s) => s.worker === me)!
      mine.revealed = true
      state.reveals.push({ round: mine.round })
      state.job = { ...state.job, revealed: state.job.revealed + 1, status: 'Finalized' }
      return tx()
    },
    finalize: async () => tx(),
    withdraw: async () => tx(),
    sending: () => false,
  }
  return { chain, state }
}

async function runOneJob(onCommit: (chain: { job: MarketJob; slots: MarketSlot[]; slotReadFailures: number }) => void, name: string) {
  const environments = hostEnvironments(sandbox.capabilities)
  const bundle = await packFiles({ 'main.sh': 'echo slot\n' })
  const manifest = parseManifest({ entrypoint: 'main.sh' })
  const spec = specDocumentBytes({
    manifest,
    bundleSha256: sha256(bundle),
    environmentDigest: environments.digestFor(manifest.environment, manifest.interpreter)!,
  })
  const blobs = new Map([
    [sha256(spec), spec],
    [sha256(bundle), bundle],
  ])
  const { chain, state } = fakeChain(onCommit, parseSpecHash(sha256(spec)))
  const dataDir = path.join(dir, name)
  const scratch = await openStorage({ root: path.join(dataDir, 'scratch'), requireTmpfs: false, flag: '--scratch-dir' })
  const store = await createJobStore({ dataDir, scratch })
  const worker = createWorker({
    chain,
    network: { fetchBlob: async ({ sha256: wanted }) => blobs.get(wanted as Hex)! },
    sandbox,
    store,
    workerKey: { privateKey: randomBytes(32) },
    pollMs: 20,
  })
  const phases: WorkerPhaseEvent[] = []
  const outcome = new Promise<WorkerPhaseEvent>((resolve) =>
    worker.events.on('phase', (event: WorkerPhaseEvent) => {
      phases.push(event)
      if (event.phase === 'revealed' || event.phase === 'dropped') resolve(event)
    }),
  )
  await worker.start()
  worker.offer({
    v: 1,
    chainId: chain.chainId,
    market,
    jobId: chainJobId(1n),
    specHash: parseSpecHash(sha256(spec)),
    bundleSha256: sha256(bundle),
    bundleSize: bundle.byteLength,
    providers: ['/ip4/127.0.0.1/tcp/1'],
  })
  const last = await outcome
  await worker.stop()
  const saved = (await store.list()).records
  await store.close()
  await scratch.close()
  return { last, phases, state, record: worker.jobs()[0], saved }
}

describe('a worker keeps the slot it committed', () => {
  it('reveals in the escalation round when its commit, sent in the first round, landed there', async () => {
    // The first committee filled, revealed in dissent and drew the escalation committee while this
    // worker's commit waited for a block: the contract put it into round 1.
    const { last, phases, state, record, saved } = await runOneJob((chain) => {
      chain.job = { ...chain.job, status: 'Escalated', round: 1, roundSlots: 1, committed: 1, revealed: 0 }
      chain.slots = [slot(0, 0, other, true), slot(1, 1, me)]
    }, 'escalated')
    expect(last, 'the worker dropped its own committed slot').toEqual({ jobId: 1n, phase: 'revealed' })
    expect(state.reveals).toEqual([{ round: 1 }])
    // The poll loop may reveal while the commit's own record save still runs: neither save may
    // fail and drop the job (jobStore.test.ts), and the disk holds what the worker holds.
    expect(phases.filter((event) => event.phase === 'dropped')).toEqual([])
    expect(record?.round).toBe(1)
    expect(saved).toEqual([record])
  })

  it('follows a commit already on chain (MarketAlreadyCommitted) to its reveal instead of dropping it', async () => {
    const { last, state } = await runOneJob((chain) => {
      chain.job = { ...chain.job, committed: 1 }
      chain.slots = [slot(0, 0, me)]
      throw new MarketRevertError('MarketAlreadyCommitted', [1n, me], null)
    }, 'already')
    expect(last).toEqual({ jobId: 1n, phase: 'revealed' })
    expect(state.reveals).toEqual([{ round: 0 }])
  })

  it('reveals a commit whose slot read after it failed (an RPC error) instead of dropping it and being slashed', async () => {
    const { last, phases, state } = await runOneJob((chain) => {
      chain.job = { ...chain.job, committed: 1 }
      chain.slots = [slot(0, 0, me)]
      chain.slotReadFailures = 1
    }, 'slot-read-fails')
    expect(phases.filter((event) => event.phase === 'dropped')).toEqual([])
    expect(last).toEqual({ jobId: 1n, phase: 'revealed' })
    expect(state.reveals).toEqual([{ round: 0 }])
  })

  it('still drops a job whose commit lost the race for the last slot', async () => {
    const { last, state } = await runOneJob((chain) => {
      chain.job = { ...chain.job, committed: 1 }
      chain.slots = [slot(0, 0, other)]
      throw new MarketRevertError('MarketJobFull', [1n], null)
    }, 'full')
    expect(last).toEqual({ jobId: 1n, phase: 'dropped', reason: 'MarketJobFull' })
    expect(state.reveals).toEqual([])
  })
})

/** A worker offered a job it will pass over at first, with what it logs as skipped and taken. */
async function passingWorker(chain: WorkerChain, name: string, fetchBlob: () => Promise<Uint8Array>) {
  const skipped: Array<Record<string, unknown>> = []
  const taken: Array<Record<string, unknown>> = []
  const scratch = await openStorage({ root: path.join(dir, name, 'scratch'), requireTmpfs: false, flag: '--scratch-dir' })
  const store = await createJobStore({ dataDir: path.join(dir, name), scratch })
  const worker = createWorker({
    chain,
    network: { fetchBlob },
    sandbox,
    store,
    workerKey: { privateKey: randomBytes(32) },
    pollMs: 20,
    log: (message, fields) => {
      if (message === 'job skipped') skipped.push(fields ?? {})
      if (message === 'job taken') taken.push(fields ?? {})
    },
  })
  await worker.start()
  const announcement = {
    v: 1 as const,
    chainId: chain.chainId,
    market,
    jobId: chainJobId(1n),
    specHash: parseSpecHash(`0x${'03'.repeat(32)}`),
    bundleSha256: sha256(new Uint8Array()),
    bundleSize: 0,
    providers: ['/ip4/127.0.0.1/tcp/1'],
  }
  const stop = async () => {
    await worker.stop()
    await store.close()
    await scratch.close()
  }
  return { worker, skipped, taken, offer: () => worker.offer(announcement), stop }
}

describe('announcements that arrive together', () => {
  it('are looked at with one read of the pending block; one that comes after those reads gets its own', async () => {
    const { chain, state } = fakeChain(() => undefined, parseSpecHash(`0x${'03'.repeat(32)}`))
    state.job = { ...state.job, commitDeadline: 1002 }
    // The worker's real reader of the pending block (chainHead.ts), over a node that counts its reads.
    let blockReads = 0
    const node = {
      getBlock: async () => {
        blockReads++
        return { number: state.nextBlock, timestamp: 1000n, baseFeePerGas: 1n, parentHash: `0x${'04'.repeat(32)}` }
      },
      estimateMaxPriorityFeePerGas: async () => 0n,
    }
    const head = chainHead(node as unknown as PublicClient)
    const shared: WorkerChain = { ...chain, nextBlock: async (maxAgeMs) => head.pending(maxAgeMs) }
    const { skipped, offer, stop } = await passingWorker(shared, 'together', async () => Promise.reject(new Error('a skipped job is never fetched')))
    const before = blockReads
    // Five in one turn of the event loop, as gossip hands over messages that came in one read.
    for (let i = 0; i < 5; i++) offer()
    // Each one's whole look (they run side by side: none is passed over yet when it starts).
    await vi.waitFor(() => expect(skipped).toHaveLength(5))
    expect(blockReads - before).toBe(1)
    offer()
    await vi.waitFor(() => expect(blockReads - before).toBe(2))
    await stop()
  })
})

describe('re-announcements of a job the worker passed over', () => {
  it('cost one job read each until the round changes, not a whole look (account, fee, eligibility)', async () => {
    const { chain, state } = fakeChain(() => undefined, parseSpecHash(`0x${'03'.repeat(32)}`))
    // Two seconds of the commit window left: too little to run and commit (minCommitTimeLeftS 3).
    state.job = { ...state.job, commitDeadline: 1002 }
    const reads = new Map<string, number>()
    const counted = Object.fromEntries(
      Object.entries(chain).map(([name, value]) => [
        name,
        typeof value === 'function'
          ? (...args: unknown[]) => {
              reads.set(name, (reads.get(name) ?? 0) + 1)
              return (value as (...a: unknown[]) => unknown)(...args)
            }
          : value,
      ]),
    ) as WorkerChain
    const { skipped, taken, offer, stop } = await passingWorker(counted, 'passed', async () => Promise.reject(new Error('a passed-over job is never fetched')))
    const readsOf = (name: string) => reads.get(name) ?? 0
    offer()
    await vi.waitFor(() => expect(skipped).toHaveLength(1))
    expect(skipped[0]).toMatchObject({ reason: 'commit window closes too soon' })
    const afterFirst = { getJob: readsOf('getJob'), getAccount: readsOf('getAccount'), feePerGas: readsOf('feePerGas'), getTotals: readsOf('getTotals') }
    // One after the other (the fake chain answers at once: a turn of the event loop ends each look).
    for (let i = 1; i <= 10; i++) {
      offer()
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(readsOf('getJob')).toBe(afterFirst.getJob + 10)
    expect({ getAccount: readsOf('getAccount'), feePerGas: readsOf('feePerGas'), getTotals: readsOf('getTotals') }).toEqual({
      getAccount: afterFirst.getAccount,
      feePerGas: afterFirst.feePerGas,
      getTotals: afterFirst.getTotals,
    })
    // The escalation round: the job is worth a whole look again.
    state.job = { ...state.job, round: 1, commitDeadline: 1200 }
    offer()
    await vi.waitFor(() => expect(taken).toEqual([expect.objectContaining({ round: 1 })]))
    const afterEscalation = { getAccount: readsOf('getAccount'), feePerGas: readsOf('feePerGas'), getTotals: readsOf('getTotals') }
    await stop()
    expect(skipped).toHaveLength(1)
    expect(afterEscalation).toEqual({ getAccount: afterFirst.getAccount + 1, feePerGas: afterFirst.feePerGas + 1, getTotals: afterFirst.getTotals + 1 })
  })

  it('are looked at whole again when a reorg reposted the job in another block: same round, a new draw', async () => {
    const { chain, state } = fakeChain(() => undefined, parseSpecHash(`0x${'03'.repeat(32)}`))
    // Two seconds of the commit window left: passed over (minCommitTimeLeftS 3).
    state.job = { ...state.job, commitDeadline: 1002, seed: `0x${'00'.repeat(32)}` }
    const { skipped, taken, offer, stop } = await passingWorker(chain, 'reposted', async () => new Uint8Array())
    offer()
    await vi.waitFor(() => expect(skipped).toHaveLength(1))
    // A reorg dropped the post; the gateway sent it again and it landed a block later: the same
    // job id and round 0 with nothing committed, but another seed block, start and deadline.
    state.job = { ...state.job, seedBlock: 2n, roundStart: 950, commitDeadline: 1200 }
    offer()
    await vi.waitFor(() => expect(taken).toEqual([expect.objectContaining({ round: 0 })]))
    await stop()
    expect(skipped).toHaveLength(1)
  })

  it('are looked at whole again when the network stake changed: the same round, a new weight', async () => {
    const { chain, state } = fakeChain(() => undefined, parseSpecHash(`0x${'03'.repeat(32)}`))
    // Against a million ETH staked by others, this worker's 1 ETH is not drawn in this round.
    state.totalStaked = 1_000_000n * ETH
    const { skipped, taken, offer, stop } = await passingWorker(chain, 'restaked', async () => new Uint8Array())
    offer()
    await vi.waitFor(() => expect(skipped).toHaveLength(1))
    expect(skipped[0]).toMatchObject({ reason: 'not drawn for this round' })
    // The others unstaked (or were slashed) within the round, in the next block: this worker's
    // stake is now all of it.
    state.totalStaked = ETH
    state.nextBlock += 1n
    offer()
    await vi.waitFor(() => expect(taken).toEqual([expect.objectContaining({ round: 0 })]))
    await stop()
    expect(skipped).toHaveLength(1)
  })
})

describe('jobs deferred for want of free stake', () => {
  it('are looked at once each when a place frees, not again and again while the stake is still short', async () => {
    const environments = hostEnvironments(sandbox.capabilities)
    const bundle = await packFiles({ 'main.sh': 'echo slot\n' })
    const manifest = parseManifest({ entrypoint: 'main.sh' })
    const spec = specDocumentBytes({ manifest, bundleSha256: sha256(bundle), environmentDigest: environments.digestFor(manifest.environment, manifest.interpreter)! })
    const blobs = new Map([
      [sha256(spec), spec],
      [sha256(bundle), bundle],
    ])
    const specHash = parseSpecHash(sha256(spec))
    const { chain, state } = fakeChain((c) => {
      c.job = { ...c.job, committed: 1, totalCommitted: 1 }
      c.slots = [slot(0, 0, me)]
    }, specHash)
    // Jobs 2 and 3 lock ten times the worker's whole stake: never takeable while it holds 1 ETH.
    const open = { ...state.job }
    const costly = { ...chain, getJob: async (jobId: bigint) => (jobId === 1n ? chain.getJob(jobId as never) : { ...open, jobId, collateral: 10n * ETH }) } as WorkerChain
    const skipped: string[] = []
    const scratch = await openStorage({ root: path.join(dir, 'deferred', 'scratch'), requireTmpfs: false, flag: '--scratch-dir' })
    const store = await createJobStore({ dataDir: path.join(dir, 'deferred'), scratch })
    const worker = createWorker({
      chain: costly,
      network: { fetchBlob: async ({ sha256: wanted }) => blobs.get(wanted as Hex)! },
      sandbox,
      store,
      workerKey: { privateKey: randomBytes(32) },
      maxJobs: 1,
      pollMs: 20,
      log: (message, fields) => {
        if (message === 'job skipped') skipped.push(String(fields?.reason))
      },
    })
    const announce = (id: bigint) => ({ v: 1 as const, chainId: chain.chainId, market, jobId: chainJobId(id), specHash, bundleSha256: sha256(bundle), bundleSize: bundle.byteLength, providers: ['/ip4/127.0.0.1/tcp/1'] })
    let skippedWhileFull: string[] | undefined
    const revealed = new Promise<void>((resolve) =>
      worker.events.on('phase', (event: WorkerPhaseEvent) => {
        if (event.jobId !== 1n) return
        if (event.phase === 'running') {
          // Met while the one place is taken: deferred without a look.
          worker.offer(announce(2n))
          worker.offer(announce(3n))
          skippedWhileFull = [...skipped]
        }
        if (event.phase === 'revealed') resolve()
      }),
    )
    await worker.start()
    worker.offer(announce(1n))
    await revealed
    expect(skippedWhileFull).toEqual([])
    await worker.stop()
    await store.close()
    await scratch.close()
    // Once per place freed (the run's end, the settlement), two jobs each time: not a loop over the chain.
    expect(skipped.length).toBeGreaterThanOrEqual(2)
    expect(skipped.length).toBeLessThanOrEqual(6)
    expect(new Set(skipped), skipped.join(', ')).toEqual(new Set(['not enough free stake for the collateral']))
  })
})
