// The market worker's business logic, with the chain, the network, the sandbox and the disk
// injected: decide which announced job to take (only rounds it is drawn for), fetch its spec and
// bundle, run it, commit the result root with a derived salt once the round's commit delay passed,
// reveal and close rounds when the contract allows, withdraw batched earnings, and recover pending
// commits after a restart. Streams and gossip live in startWorkerNode.
import { EventEmitter } from 'node:events'
import type { Hex } from 'viem'
import { MarketRevertError } from '../../chain/errors.ts'
import { seedBlockFor } from '../../chain/eligibility/index.ts'
import { systemClock, type Clock } from '../../clock/systemClock.ts'
import { isOpenStatus, type MarketAccount, type MarketJob, type MarketSlot, type MarketTotals } from '../../chain/marketReader.ts'
import type { OnChainVerdict, JobAnnouncement } from '../../p2p/jobAnnouncements.ts'
import { LogFeed, type LogEvent } from '../../p2p/logFeed.ts'
import type { HeartbeatParameters } from '../../p2p/workerHeartbeats.ts'
import type { JobResultPayload } from '../../p2p/resultService.ts'
import { type Sandbox, defaultSandboxLimits } from '../../../sandbox/index.ts'
import { type ChainJobId, sealResult, type SpecHash, type WorkerKey } from '../../../verifier/index.ts'
import { classifyFailure } from './classifyFailure.ts'
import { decideJob, nextStep, recheckAfter } from './decideJob.ts'
import { executionReports } from './executionReports.ts'
import { resultWindowMs } from '../resultWindow.ts'
import { alteredStdout, type FaultMode } from './faultMode.ts'
import { hostEnvironments } from './hostEnvironments.ts'
import { earningsWithdrawal } from './earningsWithdrawal.ts'
import { jobChainView } from './jobChainView.ts'
import { jobGasCost } from './jobGasCost.ts'
import { sealedRecord, type JobStore, type WorkerJobPhase, type WorkerJobRecord } from './jobStore.ts'
import { jobSalt } from './jobSalt.ts'
import { recoverJobs } from './recoverJobs.ts'
import { replayLogFeed } from './replayLogFeed.ts'
import { resultRetention } from './resultRetention.ts'
import { parseSpecDocument } from './specDocument.ts'
import type { WorkerChain } from './workerChain.ts'
import { WorkerError } from './workerError.ts'
import { silentLog, type WorkerLog } from './workerLog.ts'

/** The network as the worker logic sees it: content-addressed fetches, nothing about streams. */
export type WorkerNetwork = {
  /** Bytes whose sha256 is `sha256`, from one of `providers` (verified on receipt); throws when none serves them. */
  fetchBlob(parameters: { providers: string[]; sha256: string; expectedSize?: number | undefined; kind: 'spec' | 'bundle'; signal?: AbortSignal }): Promise<Uint8Array>
}

export type CreateWorkerParameters = {
  chain: WorkerChain
  network: WorkerNetwork
  sandbox: Pick<Sandbox, 'runJob' | 'capabilities'>
  store: JobStore
  /** The worker key: its seed derives the commit salts. */
  workerKey: Pick<WorkerKey, 'privateKey'>
  maxJobs?: number
  fault?: FaultMode | null
  log?: WorkerLog
  pollMs?: number
  withdrawEveryMs?: number
  /** Withdraw credited earnings once they reach this much (wei); 0 = after every settlement. */
  withdrawAtWei?: bigint
  resultWindowMs?: number
  retentionMaxMs?: number
  /** What retention counts on (default the system clock). */
  clock?: Clock
  minCommitTimeLeftS?: number
  /** The least a job's reward must leave after its gas at the current fee (wei); default 0: any job that pays its gas. */
  minProfitWei?: bigint
  /** A skipped job is looked at again when chain time reaches its recheck time, or after this long whatever the chain says. */
  recheckMaxWaitMs?: number
  /** Where to start scanning for this worker's commits on recovery (the deployment block). */
  deployBlock?: bigint
  /** How a `crash-after-commit` worker dies; the CLI passes process.exit. */
  exit?: (code: number) => void
}

export const defaultWorkerOptions = {
  // One job per core on the 2-core machines the project targets; the sandbox caps each job anyway.
  maxJobs: 2,
  // Reveal and finalize within a block or two of becoming possible, without hammering the RPC.
  pollMs: 500,
  // How often the credited balance is looked at between settlements (refunds and shares arrive too).
  withdrawEveryMs: 60_000,
  // A withdrawal costs ~35k gas: batch earnings until they are worth it (0.05 ETH is 50 default
  // rewards), and withdraw everything when the worker stops.
  withdrawAtWei: 5n * 10n ** 16n,
  // A settled job's result waits this long for its requester; one the requester fetched goes at once.
  resultWindowMs,
  // Job data is kept 1 hour at most, settled or not (a reveal needs only the root).
  retentionMaxMs: 60 * 60_000,
  // Less than this left of the commit window and even a trivial job's run and commit may miss it.
  minCommitTimeLeftS: 3,
  // A job that pays its own gas is worth running on an idle host; operators with costs set a floor.
  minProfitWei: 0n,
  // A chain whose clock runs ahead of its timestamps' estimate still gets a look this often.
  recheckMaxWaitMs: 30_000,
} as const

export type WorkerPhaseEvent = { jobId: ChainJobId; phase: WorkerJobPhase | 'dropped'; reason?: string }

export type Worker = {
  /** Recovers pending jobs from disk and chain, then follows the chain until stop(). */
  start(): Promise<void>
  stop(): Promise<void>
  /** For the announcement topic's validator: does the job exist on chain as announced? */
  validateAnnouncement(announcement: JobAnnouncement): Promise<OnChainVerdict>
  /** An accepted announcement: take the job if it fits (runs in the background). */
  offer(announcement: JobAnnouncement): void
  /** Withdraw every credited wei now (the operator's request), whatever the threshold. */
  withdrawNow(): Promise<void>
  /** The result of a job this worker revealed (for the `result` protocol). */
  getResult(jobId: ChainJobId): Promise<JobResultPayload | undefined>
  /** The result went out whole; with a valid requester's claim (true) it is deleted once the job is settled. */
  resultServed(jobId: ChainJobId, claim: string | null): Promise<boolean>
  /** The live (or replayed) log of a job this worker ran (for the `logs` protocol). */
  openLogs(jobId: ChainJobId, signal: AbortSignal): AsyncIterable<LogEvent> | undefined
  heartbeat(): HeartbeatParameters
  jobs(): WorkerJobRecord[]
  /** 'phase' (WorkerPhaseEvent) on every job change, 'withdrawn' ({ amount, hash }) after a withdrawal, 'removed' ({ jobId, reason }) when a job's data is deleted. */
  readonly events: EventEmitter
}

/** A job taken and not committed yet: its collateral is reserved; `running` while the sandbox runs it. */
type InFlight = { collateral: bigint; controller: AbortController; running: boolean }

export function createWorker(parameters: CreateWorkerParameters): Worker {
  const { chain, network, sandbox, store } = parameters
  const options = {
    maxJobs: parameters.maxJobs ?? defaultWorkerOptions.maxJobs,
    pollMs: parameters.pollMs ?? defaultWorkerOptions.pollMs,
    withdrawEveryMs: parameters.withdrawEveryMs ?? defaultWorkerOptions.withdrawEveryMs,
    withdrawAtWei: parameters.withdrawAtWei ?? defaultWorkerOptions.withdrawAtWei,
    minCommitTimeLeftS: parameters.minCommitTimeLeftS ?? defaultWorkerOptions.minCommitTimeLeftS,
    minProfitWei: parameters.minProfitWei ?? defaultWorkerOptions.minProfitWei,
    recheckMaxWaitMs: parameters.recheckMaxWaitMs ?? defaultWorkerOptions.recheckMaxWaitMs,
  }
  // The fee last seen, for the ask in heartbeats (null before the first look).
  let lastFeePerGas: bigint | null = null
  const fault = parameters.fault ?? null
  const log = parameters.log ?? silentLog
  const exit = parameters.exit ?? ((code: number) => process.exit(code))
  const clock = parameters.clock ?? systemClock
  const environments = hostEnvironments(sandbox.capabilities)
  const events = new EventEmitter()
  const view = jobChainView(chain)

  const records = new Map<ChainJobId, WorkerJobRecord>()
  const inFlight = new Map<ChainJobId, InFlight>()
  const feeds = new Map<ChainJobId, LogFeed>()
  const offers = new Set<Promise<void>>()
  // Jobs this host can never run (spec refused, environment missing, sandbox refusal): gateways
  // re-announce open jobs every few seconds, and each re-announcement must not cost a fetch.
  const refused = new Set<ChainJobId>()
  const retention = resultRetention({
    clock,
    resultWindowMs: parameters.resultWindowMs ?? defaultWorkerOptions.resultWindowMs,
    retentionMaxMs: parameters.retentionMaxMs ?? defaultWorkerOptions.retentionMaxMs,
    chainId: chain.chainId,
    market: chain.market,
    worker: chain.address,
  })
  let stopped = false
  let loopDone: Promise<void> | undefined
  let wake: (() => void) | undefined
  const earnings = earningsWithdrawal({ chain, log, events, withdrawAtWei: options.withdrawAtWei, checkEveryMs: options.withdrawEveryMs })
  // Jobs to look at again once this worker may be drawn, or may commit: gateways re-announce open
  // jobs too, but the worker does not depend on it. Due by chain time (the poll loop looks), or
  // after recheckMaxWaitMs of wall time whatever the chain says.
  const rechecks = new Map<ChainJobId, { announcement: JobAnnouncement; at: number; timer: NodeJS.Timeout }>()
  // Jobs skipped for want of capacity or free stake: offered again, oldest first and one at a time,
  // while a run's place is free (each look costs chain reads; offering them all at once when one
  // place frees read the chain for every one of them to take one).
  const deferred = new Map<ChainJobId, JobAnnouncement>()
  let resuming = false
  const resumeDeferred = (): void => {
    if (resuming) return
    resuming = true
    const drain = (async () => {
      try {
        // Each at most once per resume: one deferred again (short of free stake) waits for the next.
        for (const [jobId, announcement] of [...deferred]) {
          if (stopped || runningCount() >= options.maxJobs) break
          deferred.delete(jobId)
          await take(announcement).catch((error: unknown) => log('job offer failed', { jobId, reason: classifyFailure(error).reason }))
        }
      } finally {
        resuming = false
      }
    })()
    track(drain)
  }

  // Open jobs this worker passed over for the rest of a round (not drawn, too late, every slot
  // taken): gateways re-announce open jobs every few seconds, and a whole look costs five chain
  // reads; a re-announcement of such a job costs a job read and a block read while the draw is the
  // same one: the same round, posted at the same time in the same seed block with the same anchor
  // (seedBlockFor) and stored seed, no commit taken out by a reorg, and the commit window open.
  const passedOver = new Map<ChainJobId, PassedOver>()
  // The draw also weighs this worker's stake against the network's, which move inside a round (a
  // stake, an unbonding, a slash): a re-announcement compares them too, read once per block for all
  // jobs (a whole look seeds the read of its block).
  let stakeRead: { block: bigint; stake: Promise<StakeWeights> } | null = null
  const stakeAt = (block: bigint): Promise<StakeWeights> => {
    if (stakeRead?.block !== block) {
      const stake = Promise.all([chain.getAccount(), chain.getTotals()]).then(([account, totals]) => stakeWeightsOf(account, totals))
      stakeRead = { block, stake }
      // A failed read is not kept: the next re-announcement reads again.
      stake.catch(() => {
        if (stakeRead?.stake === stake) stakeRead = null
      })
    }
    return stakeRead.stake
  }

  // Capacity counts sandbox runs only: a run that waits for its commit time holds no core.
  const runningCount = (): number => [...inFlight.values()].filter((job) => job.running).length
  const reports = executionReports({ workerKey: parameters.workerKey, chainId: chain.chainId, market: chain.market, retentionMs: parameters.retentionMaxMs ?? defaultWorkerOptions.retentionMaxMs })
  const salt = (jobId: ChainJobId): Hex => jobSalt({ seed: parameters.workerKey.privateKey, chainId: chain.chainId, market: chain.market, jobId })
  const kick = (): void => wake?.()

  /** Keeps `work` in `offers` until it settles: stop() waits for it. */
  function track(work: Promise<void>): void {
    offers.add(work)
    void work.finally(() => offers.delete(work))
  }

  function offer(announcement: JobAnnouncement): void {
    track(take(announcement).catch((error: unknown) => log('job offer failed', { jobId: announcement.jobId, reason: classifyFailure(error).reason })))
  }

  async function update(record: WorkerJobRecord, patch: Partial<WorkerJobRecord>): Promise<void> {
    Object.assign(record, patch, { updatedAt: clock.now() })
    await store.save(record)
    events.emit('phase', { jobId: record.jobId, phase: record.phase } satisfies WorkerPhaseEvent)
  }

  async function forget(jobId: ChainJobId, reason: string): Promise<void> {
    await removeData(jobId)
    events.emit('phase', { jobId, phase: 'dropped', reason } satisfies WorkerPhaseEvent)
  }

  async function removeData(jobId: ChainJobId): Promise<void> {
    records.delete(jobId)
    feeds.delete(jobId)
    retention.forget(jobId)
    await store.remove(jobId).catch(() => undefined)
  }

  // ---- taking a job -------------------------------------------------------------------------

  /** Looks at an offered job and, if it fits, starts its run and commit (in the background: this resolves once decided). */
  async function take(announcement: JobAnnouncement): Promise<void> {
    const { jobId } = announcement
    if (stopped || records.has(jobId) || inFlight.has(jobId) || refused.has(jobId)) return
    // Every run's place is taken: nothing to read now, it is looked at once one frees.
    if (runningCount() >= options.maxJobs) {
      deferred.set(jobId, announcement)
      return
    }
    await look(announcement)
  }

  async function look(announcement: JobAnnouncement): Promise<void> {
    const { jobId } = announcement
    // The chain as it is now; the reads at its head are shared by every look within the block.
    const next = await chain.nextBlock()
    const job = await chain.getJob(jobId, next.head)
    const passed = passedOver.get(jobId)
    if (passed !== undefined) {
      if (sameDraw(passed, job, next) && sameStake(passed, await stakeAt(next.number))) return
      passedOver.delete(jobId)
    }
    const [specHash, account, feePerGas] = await Promise.all([view.specHash(jobId), chain.getAccount(next.head), chain.feePerGas()])
    lastFeePerGas = feePerGas
    if (specHash !== announcement.specHash) {
      log('job skipped', { jobId, reason: 'announced spec hash differs from the chain' })
      return
    }
    const { eligibility, now, nextBlock, totals } = await view.eligibility(job, account, next)
    const reserved = [...inFlight.values()].reduce((sum, held) => sum + held.collateral, 0n)
    const decision = decideJob({
      job,
      eligibility,
      now,
      running: runningCount(),
      maxJobs: options.maxJobs,
      freeStake: account.free - reserved,
      known: records.has(jobId) || inFlight.has(jobId),
      minCommitTimeLeft: options.minCommitTimeLeftS,
      gasCost: jobGasCost(feePerGas),
      minProfitWei: options.minProfitWei,
    })
    if (!decision.take) {
      const later = recheckAfter({ reason: decision.reason, eligibility, now, commitDeadline: job.commitDeadline })
      // recheckAt is chain time: when this worker looks again (it may be drawn, or may commit, then).
      const ask = decision.reason.startsWith('reward below') ? { rewardWei: job.reward.toString(), askWei: (jobGasCost(feePerGas) + options.minProfitWei).toString() } : {}
      log('job skipped', { jobId, round: job.round, reason: decision.reason, ...ask, ...(typeof later === 'number' ? { recheckAt: now + later } : {}) })
      if (later === 'when-free') deferred.set(jobId, announcement)
      else if (later !== null) scheduleRecheck(announcement, now + later)
      else if (isOpenStatus(job.status) && now < job.commitDeadline) {
        // A job the chain does not know (yet, or again after a reorg) or one that settled is not remembered.
        if (passedOver.size >= 10_000) passedOver.clear()
        const stake = stakeWeightsOf(account, totals)
        passedOver.set(jobId, passedOverOf(job, nextBlock, stake))
        if (stakeRead?.block !== nextBlock) stakeRead = { block: nextBlock, stake: Promise.resolve(stake) }
      }
      return
    }
    log('job taken', { jobId, round: job.round, commitFrom: decision.commitFrom })
    const controller = new AbortController()
    inFlight.set(jobId, { collateral: job.collateral, controller, running: true })
    // The log exists from the start, so a watcher that comes early waits for the run instead of finding nothing.
    // The same cap as the sandbox's capture: the live log never shows what the result will not hold.
    const feed = new LogFeed({ captureBytes: defaultSandboxLimits.outputCaptureBytes })
    feeds.set(jobId, feed)
    events.emit('phase', { jobId, phase: 'running' } satisfies WorkerPhaseEvent)
    track(runTaken(announcement, job, decision.commitFrom, feed, controller))
  }

  async function runTaken(announcement: JobAnnouncement, job: MarketJob, commitFrom: number, feed: LogFeed, controller: AbortController): Promise<void> {
    const { jobId } = announcement
    try {
      await runAndCommit(announcement, job, commitFrom, feed, controller.signal)
    } catch (error) {
      const { reason, lostRace, permanent } = classifyFailure(error)
      log(lostRace ? 'job dropped' : 'job failed', { jobId, reason })
      if (permanent) {
        if (refused.size >= 10_000) refused.clear()
        refused.add(jobId)
      }
      feed.end({ state: 'failed' })
      await forget(jobId, reason)
    } finally {
      inFlight.delete(jobId)
      resumeDeferred()
    }
  }

  function scheduleRecheck(announcement: JobAnnouncement, at: number): void {
    if (stopped || rechecks.has(announcement.jobId)) return
    const timer = setTimeout(() => recheckNow(announcement.jobId), options.recheckMaxWaitMs)
    timer.unref()
    rechecks.set(announcement.jobId, { announcement, at, timer })
  }
  function recheckNow(jobId: ChainJobId): void {
    const due = rechecks.get(jobId)
    if (!due) return
    clearTimeout(due.timer)
    rechecks.delete(jobId)
    offer(due.announcement)
  }

  /** Resolves once the chain's next block is at `time` (s); commits before it would be refused. */
  async function untilChainTime(time: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted && (await chain.nextBlock(options.pollMs)).timestamp < time) {
      await new Promise<void>((resolve) => setTimeout(resolve, options.pollMs))
    }
    if (signal.aborted) throw new Error('worker stopped before the commit')
  }

  async function runAndCommit(announcement: JobAnnouncement, job: MarketJob, commitFrom: number, feed: LogFeed, signal: AbortSignal): Promise<void> {
    const { jobId, providers } = announcement
    // The spec comes by the hash the job was posted with (checked in take): gossip only says where to look.
    const { specHash } = announcement
    const spec = parseSpecDocument({ data: await network.fetchBlob({ providers, sha256: specHash, kind: 'spec', signal }), specHash })
    const { manifest } = spec
    const digest = environments.digestFor(manifest.environment, manifest.interpreter)
    if (digest !== spec.environmentDigest) {
      throw new WorkerError('ENVIRONMENT_MISMATCH', `This host does not have environment ${spec.environmentDigest} (${manifest.environment} with ${manifest.interpreter}).`)
    }
    const expectedSize = announcement.bundleSha256 === spec.bundleSha256 ? announcement.bundleSize : undefined
    const bundle = await network.fetchBlob({ providers, sha256: spec.bundleSha256, expectedSize, kind: 'bundle', signal })

    const { outputDir } = await store.prepare(jobId)
    log('job running', { jobId, round: job.round, specHash, bundleBytes: bundle.byteLength })
    const result = await sandbox.runJob({ manifest, bundle, outputDir, signal, onOutput: (stream, chunk) => feed.append(stream, chunk) })
    feed.end({ state: 'completed', exit_code: result.exitCode, termination: result.termination, stdout_truncated: result.stdoutTruncated, stderr_truncated: result.stderrTruncated })
    const held = inFlight.get(jobId)
    if (held) held.running = false
    resumeDeferred()
    // A run cut short by shutdown is not the job's result: never commit it.
    if (signal.aborted) throw new Error('worker stopped during the run')

    const faulty = fault === 'wrong-result' || fault === 'forged-result'
    const stdout = faulty ? alteredStdout(result.stdout, chain.address, fault) : result.stdout
    const { entries, resultRoot: root, exit: exitEntry } = sealResult({ ...result, stdout })
    reports.record(jobId, root, result)
    await store.writeResultFiles(jobId, { entries, exit: exitEntry, stdout, stderr: result.stderr })
    retention.sealed(jobId, job.requester)
    const record = sealedRecord({ chainId: chain.chainId, market: chain.market, jobId, specHash, round: job.round, root, faulty })
    // On disk before the commit is sent: a crash after it leaves what a restart needs to reveal.
    records.set(jobId, record)
    await update(record, {})
    // Nobody commits before the round's commit delay has let honest workers run the job.
    log('result sealed', { jobId, root, commitFrom })
    await untilChainTime(commitFrom, signal)
    let hash: Hex | null
    try {
      ;({ hash } = await chain.commit({ jobId, resultRoot: root, salt: salt(jobId), deadline: job.commitDeadline }))
    } catch (error) {
      // Our own commit is on chain already (one whose sender failed after it was sent): follow it
      // to its reveal; dropping it would leave the slot unrevealed and its collateral slashed.
      if (!(error instanceof MarketRevertError && error.errorName === 'MarketAlreadyCommitted')) throw error
      hash = null
    }
    // The slot's round is the chain's: a commit sent in the first round can land in the escalation
    // round when the first closed meanwhile, and the reveal follows the round it landed in. No slot
    // (a reorg took the commit out already): the job's current round, and the follow-up commits
    // again while the window is open (stillOnChain). From here on the job is never dropped for a
    // failure of its own: the commit is on chain, and a worker that does not reveal it is slashed.
    // A failed slot read takes the job's round (the poll loop corrects it, stillOnChain), a failed
    // save keeps the record in memory (the poll loop reveals from there).
    const round = await mySlot(jobId).then(
      (mine) => mine?.round ?? job.round,
      (error: unknown) => {
        log('slot read after the commit failed; the poll loop checks it', { jobId, reason: classifyFailure(error).reason })
        return job.round
      },
    )
    if (hash === null) log('commit found on chain; following it', { jobId, round })
    if (fault === 'crash-after-commit') {
      log('fault crash-after-commit: exiting after the commit receipt', { jobId, tx: hash })
      stopped = true
      kick()
      exit(1)
      return
    }
    await update(record, { phase: 'committed', commitTx: hash, round }).catch((error: unknown) => {
      log('job record not saved after the commit; kept in memory', { jobId, reason: classifyFailure(error).reason })
      events.emit('phase', { jobId, phase: 'committed' } satisfies WorkerPhaseEvent)
    })
    log('result committed', { jobId, round, root, tx: hash, faulty })
    kick()
  }

  // ---- following the chain --------------------------------------------------------------------

  /** This worker's slot of the job, in whichever round it landed; undefined when it holds none (`head`: see WorkerChain.getJob). */
  async function mySlot(jobId: ChainJobId, head?: Hex): Promise<MarketSlot | undefined> {
    const slots = await chain.getSlots(jobId, head)
    return slots.find((slot) => slot.worker?.toLowerCase() === chain.address.toLowerCase())
  }

  async function settle(record: WorkerJobRecord, job: MarketJob): Promise<void> {
    const mine = await mySlot(record.jobId)
    await update(record, { phase: 'settled', status: job.status, outcome: mine?.outcome ?? null, settledAt: clock.now() })
    log('job settled', { jobId: record.jobId, status: job.status, outcome: record.outcome, slashed: mine?.slashed ?? false })
    earnings.settled()
    resumeDeferred()
  }

  /**
   * A reorg can take a mined commit or reveal out of the chain. The account's transactions send it
   * again (accountTransactions.ts); if that came too late (it reverted in the new chain), what the
   * chain lacks is sent anew while its window is open. Returns false when the step is lost for good.
   */
  async function stillOnChain(record: WorkerJobRecord, job: MarketJob, now: number, head: Hex): Promise<boolean> {
    if (chain.sending()) return true
    // A worker holds at most one slot of a job (the contract keys them by address), in either round.
    const mine = await mySlot(record.jobId, head)
    if (!mine && job.round === (record.round ?? 0) && now <= job.commitDeadline) {
      log('commit missing on chain after a reorg; committing again', { jobId: record.jobId })
      const { hash } = await chain.commit({ jobId: record.jobId, resultRoot: record.root!, salt: salt(record.jobId), deadline: job.commitDeadline })
      await update(record, { phase: 'committed', commitTx: hash, revealTx: null })
      return true
    }
    if (!mine) return false
    if (mine.round !== (record.round ?? 0)) await update(record, { round: mine.round })
    if (record.phase === 'revealed' && !mine.revealed) {
      log('reveal missing on chain after a reorg; revealing again', { jobId: record.jobId })
      await update(record, { phase: 'committed', revealTx: null })
    }
    return true
  }

  async function advance(record: WorkerJobRecord, now: number, head: Hex): Promise<void> {
    const { jobId } = record
    // Once per block, not once per poll: the job and the slot are what they were at this head.
    const job = await chain.getJob(jobId, head)
    if (isOpenStatus(job.status) && !(await stillOnChain(record, job, now, head))) {
      log('commit lost to a reorg after its window closed', { jobId: record.jobId })
      return forget(record.jobId, 'commit lost to a reorg')
    }
    const step = nextStep({ job, slotRound: record.round ?? 0, revealed: record.phase === 'revealed', mayReveal: fault !== 'no-reveal', now })
    if (step === 'settled') return settle(record, job)
    try {
      if (step === 'reveal') {
        const { hash } = await chain.reveal({ jobId, resultRoot: record.root!, salt: salt(jobId), deadline: job.revealDeadline })
        await update(record, { phase: 'revealed', revealTx: hash })
        log('result revealed', { jobId: record.jobId, root: record.root, tx: hash })
        kick()
      } else if (step === 'finalize') {
        const { hash } = await chain.finalize(jobId)
        record.finalizeTx = hash
        log('job finalized', { jobId: record.jobId, tx: hash })
        await settle(record, await chain.getJob(jobId))
      }
    } catch (error) {
      if (!(error instanceof MarketRevertError)) throw error
      // Another worker finalized first, or our view of the block time was a block behind: look again next tick.
      if (error.errorName === 'MarketAlreadyRevealed') await update(record, { phase: 'revealed' })
      else log('chain step postponed', { jobId: record.jobId, step, reason: error.errorName })
    }
  }

  async function expire(): Promise<void> {
    for (const { jobId, scope, reason } of retention.collect([...records.values()])) {
      if (scope === 'job') await removeData(jobId)
      else {
        feeds.delete(jobId)
        await store.removeResult(jobId)
      }
      log('job data deleted', { jobId, scope, reason })
      events.emit('removed', { jobId, reason })
    }
  }

  async function tick(): Promise<void> {
    const active = [...records.values()].filter((record) => record.phase === 'committed' || record.phase === 'revealed')
    if (active.length > 0 || rechecks.size > 0) {
      const { timestamp: now, head } = await chain.nextBlock(options.pollMs)
      for (const [jobId, due] of rechecks) if (due.at <= now) recheckNow(jobId)
      // Side by side: each job's reveal waits for its own block, not for the other jobs' receipts.
      const advanced = await Promise.allSettled(active.map((record) => (stopped ? Promise.resolve() : advance(record, now, head))))
      const failed = advanced.find((outcome) => outcome.status === 'rejected')
      if (failed) throw failed.reason
      if (stopped) return
    }
    await earnings.withdrawIfDue()
    await expire()
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      try {
        await tick()
      } catch (error) {
        log('chain poll failed', { reason: classifyFailure(error).reason })
      }
      if (stopped) break
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = undefined
    }
  }

  return {
    events,
    async start() {
      lastFeePerGas = await chain.feePerGas().catch(() => null)
      for (const record of await recoverJobs({ store, chain, log, deployBlock: parameters.deployBlock })) records.set(record.jobId, record)
      loopDone = loop()
    },
    async stop() {
      stopped = true
      for (const { timer } of rechecks.values()) clearTimeout(timer)
      for (const job of inFlight.values()) job.controller.abort()
      kick()
      await Promise.allSettled([loopDone, ...offers])
      // Stopping cashes out: the batched earnings are the operator's to take along.
      await earnings.withdrawIfDue(true).catch((error: unknown) => log('withdrawal at stop failed', { reason: classifyFailure(error).reason }))
    },
    withdrawNow: () => earnings.withdrawIfDue(true),
    async validateAnnouncement(announcement) {
      let specHash: SpecHash | null
      try {
        specHash = await view.specHash(announcement.jobId)
      } catch {
        return 'ignore'
      }
      // An unknown id may be our RPC lagging behind the gateway's; only a contradiction is a lie.
      if (specHash === null) return 'ignore'
      return specHash === announcement.specHash
    },
    offer,
    async getResult(jobId) {
      const record = records.get(jobId)
      // Before the reveal, serving the files would let a lazy worker commit our root as its own.
      if (!record || record.revealTx === null || (record.phase !== 'revealed' && record.phase !== 'settled')) return undefined
      return reports.attach(jobId, await store.readResult(jobId))
    },
    async resultServed(jobId, claim) {
      if (claim === null || !records.has(jobId) || !(await retention.claim(jobId, claim))) return false
      kick()
      return true
    },
    openLogs(jobId, signal) {
      // Once the result is gone (or was sealed by a process before a restart) there is no log either.
      if (!inFlight.has(jobId) && !feeds.has(jobId) && !retention.holds(jobId)) return undefined
      return (async function* () {
        const feed = feeds.get(jobId) ?? (await replayLogFeed(store, jobId))
        feeds.set(jobId, feed)
        yield* feed.subscribe(signal)
      })()
    },
    heartbeat() {
      return {
        address: chain.address.toLowerCase(),
        capabilities: { interpreters: environments.interpreters.slice(0, 64), gpu: sandbox.capabilities.gpus.gpus.length > 0, maxJobs: options.maxJobs },
        environments: environments.digests.slice(0, 64),
        load: { running: runningCount() },
        // What a job must pay per replica for this worker to take it, at the fee it last saw.
        ask: { minProfitWei: options.minProfitWei.toString(), minRewardWei: lastFeePerGas === null ? null : (jobGasCost(lastFeePerGas) + options.minProfitWei).toString() },
      }
    },
    jobs: () => [...records.values()].map((record) => ({ ...record })),
  }
}

/** The stakes a worker's draw weighs: its own (counted once older than the seed block) against the network's. */
type StakeWeights = Pick<MarketAccount, 'staked' | 'stakeBlock'> & Pick<MarketTotals, 'totalStaked'>

function stakeWeightsOf(account: MarketAccount, totals: MarketTotals): StakeWeights {
  return { staked: account.staked, stakeBlock: account.stakeBlock, totalStaked: totals.totalStaked }
}

function sameStake(passed: StakeWeights, now: StakeWeights): boolean {
  return passed.staked === now.staked && passed.stakeBlock === now.stakeBlock && passed.totalStaked === now.totalStaked
}

/** What a worker's draw for a job's round depends on, as read when it passed the job over. */
type PassedOver = Pick<MarketJob, 'round' | 'roundStart' | 'commitDeadline' | 'seedBlock' | 'seed' | 'committed'> & { anchor: bigint } & StakeWeights

function passedOverOf(job: MarketJob, nextBlock: bigint, stake: StakeWeights): PassedOver {
  const { round, roundStart, commitDeadline, seedBlock, seed, committed } = job
  return { round, roundStart, commitDeadline, seedBlock, seed, committed, anchor: seedBlockFor(seedBlock, nextBlock), ...stake }
}

/** Whether a job read now would get the answer it got when passed over (a reorg that reposted it, or took a commit out, does not). */
function sameDraw(passed: PassedOver, job: MarketJob, next: { number: bigint; timestamp: number }): boolean {
  return (
    isOpenStatus(job.status) &&
    job.round === passed.round &&
    job.roundStart === passed.roundStart &&
    job.commitDeadline === passed.commitDeadline &&
    job.seedBlock === passed.seedBlock &&
    job.seed === passed.seed &&
    job.committed >= passed.committed &&
    seedBlockFor(job.seedBlock, next.number) === passed.anchor &&
    next.timestamp <= job.commitDeadline
  )
}
