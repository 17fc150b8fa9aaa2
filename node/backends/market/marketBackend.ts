// The `market` JobBackend: each submitted job is posted on chain (the gateway's account pays the
// reward), its spec document and bundle are served over libp2p and announced on the jobs topic,
// the chain is followed until the job settles, and the result is fetched from a worker in the
// majority and checked byte for byte against the on-chain root before anyone sees it. Job data is
// sealed at rest under keys held in memory only (jobStore.ts): a restarted gateway has none of it,
// and only finalizes what it had posted (openJobLedger.ts, followOrphanedJobs.ts).
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { Readable } from 'node:stream'
import type { Address, Hex } from 'viem'
import type { Deployment } from '../../chain/deployment.ts'
import { MarketRevertError } from '../../chain/errors.ts'
import type { MarketClient } from '../../chain/marketClient.ts'
import { isOpenStatus, type MarketJob } from '../../chain/marketReader.ts'
import {
  bundleService,
  jobAnnouncements,
  logsService,
  resultService,
  workerHeartbeats,
  type BundleService,
  type LogsService,
  type ResultService,
  type SandrunHost,
} from '../../p2p/index.ts'
import { majorityQuorum, parseExitEntry, type WorkerKey } from '../../../verifier/index.ts'
import { BackendError } from '../backendError.ts'
import type {
  BackendEnvironments,
  BackendHealth,
  BackendStats,
  JobBackend,
  JobEvent,
  JobStatus,
  PoolWorker,
  SubmitJobParameters,
  UsageMeter,
} from '../jobBackend.ts'
import { watchJobLog } from '../watchJobLog.ts'
import { whenSent } from '../whenSent.ts'
import { JobLog } from '../local/jobLog.ts'
import { createOutputArchive } from '../local/outputArchive.ts'
import { collectExecutionReports } from './collectExecutionReports.ts'
import { fetchVerifiedResult } from './fetchVerifiedResult.ts'
import { relayJobLog } from './relayJobLog.ts'
import { summarizeExecutionReports } from './summarizeExecutionReports.ts'
import { systemClock, type Clock } from '../../clock/systemClock.ts'
import { resultClaimMessage } from '../../market/resultClaim.ts'
import { describeRetention } from '../describeRetention.ts'
import { resultWindowMs } from '../../market/resultWindow.ts'
import { followOrphanedJobs } from './followOrphanedJobs.ts'
import type { JobStore, MarketJobRecord } from './jobStore.ts'
import { chainEntryKey, type OpenJobLedger } from './openJobLedger.ts'
import { resolveWorkerPeer } from './resolveWorkerPeer.ts'
import { settlementConfirmations } from './settlementConfirmations.ts'
import { buildSpecDocument } from './specDocument.ts'
import { marketPoolRoute } from './marketPoolRoute.ts'
import { validateMarketJob } from './validateMarketJob.ts'
import { jobPoster } from './jobPoster.ts'
import { errorCodeOf, errorMessageOf, shortMessageOf } from '../../../errors/index.ts'

export type MarketBackendOptions = {
  /** Replicas of a job whose manifest does not say (the manifest's own default is 3). */
  defaultReplicas: number
  /** Reward per replica (wei) when the manifest sets no reward_wei. */
  rewardWei: bigint
  /** Seconds workers have to commit, and then to reveal. */
  commitWindowSeconds: number
  revealWindowSeconds: number
  /** How often open jobs are read from the chain. */
  pollIntervalMs: number
  /** How often a job with free slots is announced again (peers that joined late, lost gossip). */
  announceIntervalMs: number
  /** Give up fetching a finalized job's result after this long; within the workers' result window (node/market/resultWindow.ts). */
  resultDeadlineMs: number
  /** One result fetch from one worker; an unresponsive worker must not hold the job up for long. */
  resultFetchTimeoutMs: number
  /** Collecting the other workers' execution reports after a job settled (each, in parallel). */
  reportFetchTimeoutMs: number
  /** Bytes of each output stream kept and shown; workers cut there too. */
  outputCaptureBytes: number
  /** An RPC URL of the chain to advertise in /health (for `sandrun verify`); null: none. */
  publicRpcUrl: string | null
  /** Jobs not yet settled at once; beyond it submissions get QUEUE_FULL. */
  maxOpenJobs: number
  retentionMaxMs: number
  retentionAfterFailureMs: number
  /** Blocks the settlement must be deep before a job is completed (node/chain/confirmationDepth.ts; 0: at once). */
  confirmations: number
}

export const defaultMarketBackendOptions: MarketBackendOptions = {
  // Three replicas: one dishonest or broken worker is outvoted by the other two.
  defaultReplicas: 3,
  // 0.001 ETH a replica: enough for a worker to care on a dev chain; public gateways set their own.
  rewardWei: 10n ** 15n,
  // Committees are drawn over the commit window and nobody commits in its first eighth (15 s),
  // the time honest workers get to run a job before a bot that runs nothing may commit: 120 s keeps
  // a forged unanimous result near the floor of share^replicas (docs/contracts.md#numbers). A dev
  // chain uses shorter windows.
  commitWindowSeconds: 120,
  // The deployment's default minimum (docs/contracts.md).
  revealWindowSeconds: 60,
  // A few polls per block on a 1 s chain; each poll is one eth_call per open job.
  pollIntervalMs: 300,
  announceIntervalMs: 2000,
  // Half the workers' result window: every retry happens while they still hold the result.
  resultDeadlineMs: resultWindowMs / 2,
  // A result is at most a few hundred MiB over a LAN-or-better link between gateway and worker.
  resultFetchTimeoutMs: 60_000,
  // Reports are a few hundred bytes; a worker that cannot send one in this time is shown without it.
  reportFetchTimeoutMs: 10_000,
  // The sandbox's default capture per stream (defaultSandboxLimits.outputCaptureBytes): the one
  // truncation rule of every mode. A test keeps the two equal.
  outputCaptureBytes: 10 * 1024 * 1024,
  // The gateway's own RPC URL may hold an API key: advertised only when the operator says so.
  publicRpcUrl: null,
  maxOpenJobs: 200,
  // Sandrun's retention: 1 hour at most, 5 minutes after a failure.
  retentionMaxMs: 60 * 60_000,
  retentionAfterFailureMs: 5 * 60_000,
  // The dev chain's; createMarketGateway sets the chain's own (confirmationDepth) unless told one.
  confirmations: 0,
}

export type MarketBackendComponents = {
  /** Market client with the gateway's account (it posts and pays, and finalizes when nobody else does). */
  market: MarketClient
  deployment: Deployment
  host: SandrunHost
  store: JobStore
  /** The chain ids of posted jobs not yet settled: the only job state that survives a restart. */
  ledger: OpenJobLedger
  /** What retention counts on (default the system clock). */
  clock?: Clock | undefined
  /** The environments report of this gateway's host: the digests the spec hash uses. */
  environments: BackendEnvironments
  workerKey: WorkerKey
  log?: ((message: string, context: Record<string, unknown>) => void) | undefined
}

export type MarketBackend = JobBackend & {
  pool(): Promise<PoolWorker[]>
}

type LiveJob = {
  record: MarketJobRecord
  clientId: string
  log: JobLog
  watchers: Set<(event: JobEvent) => void>
  relay: AbortController | null
  /** A worker's log was followed to its end: no more relays. */
  relayDone: boolean
  /** Not before this (ms): a relay that found no log waits a little before the next try. */
  nextRelayAt: number
  /** Bytes of each stream relayed so far (a relay from another worker skips them). */
  relayed: { stdout: number; stderr: number }
  /** The first worker that fetched the bundle: it is running the job. */
  runner: PeerId | null
  /** Cancels the pending deletion. */
  timer: (() => void) | null
  lastAnnounce: number
  settling: boolean
  firstSettleAttempt: number | null
  downloaded: Set<string>
  deleted: boolean
}

const finalStates = new Set(['completed', 'failed'])

function newJobId(): string {
  return `job-${randomBytes(16).toString('hex')}`
}

export async function createMarketBackend(options: MarketBackendOptions, components: MarketBackendComponents): Promise<MarketBackend> {
  const { market, deployment, host, store, ledger, environments, workerKey } = components
  const clock = components.clock ?? systemClock
  const log = components.log ?? (() => undefined)
  // Nobody awaits a timed or download-triggered deletion: a failure is logged, never left unhandled.
  const removalFailed = (error: unknown): void => log('job removal failed', { code: errorCodeOf(error) ?? (error instanceof Error ? error.name : 'UNKNOWN') })
  const jobs = new Map<string, LiveJob>()
  const blobs = new Map<string, { jobId: string; name: 'spec' | 'bundle' }>()
  // Charged once a job has settled: the CPU time comes with the workers' signed reports.
  const meters: UsageMeter[] = []
  const counters = { total: 0, completed: 0, failed: 0 }
  let closed = false
  let pollTimer: NodeJS.Timeout | null = null
  // Sends are pipelined (accountTransactions.ts); close() waits for the ones still in flight.
  const sending = new Set<Promise<unknown>>()
  // Submissions that arrive while a post is in flight go on chain together, in one postJobs.
  const poster = jobPoster({ market })
  const tracked = <T>(send: Promise<T>): Promise<T> => {
    const settled = send.catch(() => undefined)
    sending.add(settled)
    void settled.then(() => sending.delete(settled))
    return send
  }
  const bundles: BundleService = bundleService({
    getBundle: async (sha256, from) => {
      const blob = blobs.get(sha256)
      if (!blob) return undefined
      if (blob.name === 'bundle') onBundleFetched(blob.jobId, from)
      return store.readBlob(blob.jobId, blob.name).catch(() => undefined)
    },
  })(host.libp2p)
  const results: ResultService = resultService({})(host.libp2p)
  const logs: LogsService = logsService({})(host.libp2p)
  const announcements = jobAnnouncements({ deployment })(host.libp2p.services.pubsub)
  const heartbeats = workerHeartbeats({ deployment })(host.libp2p.services.pubsub, host.peerId)
  await bundles.start()
  announcements.start()
  heartbeats.start()

  const peerOf = (address: string) =>
    resolveWorkerPeer({ address: address as Address, chainId: deployment.chainId, market: deployment.market, getPeer: (a) => market.getPeer(a) })

  const statusOf = (job: LiveJob): JobStatus => {
    const r = job.record
    const exit = r.result?.find((e) => e.name === 'exit')
    return {
      jobId: r.id,
      status: r.state,
      position: 0,
      submittedAt: r.submittedAt,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      expiresAt: r.expiresAt,
      execution: exit && r.execution ? { ...r.execution } : null,
      resultRoot: r.result ? r.verification.resultRoot : null,
      outputFiles: (r.result ?? [])
        .filter((e) => e.name.startsWith('outputs/'))
        .map((e) => ({ path: e.name.slice('outputs/'.length), sizeBytes: e.size, sha256: e.sha256.slice(2) })),
      worker: null,
      error: r.error,
      verification: {
        ...r.verification,
        agreeing: [...r.verification.agreeing],
        dissenting: [...r.verification.dissenting],
        slashed: [...r.verification.slashed],
        executions: (r.verification.executions ?? []).map((e) => ({ ...e })),
      },
    }
  }

  const emit = (job: LiveJob): void => {
    const event: JobEvent = { type: 'status', status: statusOf(job) }
    for (const watcher of job.watchers) watcher(event)
  }

  const activeOf = (clientId: string): number => [...jobs.values()].filter((j) => j.clientId === clientId && !finalStates.has(j.record.state)).length

  const scheduleDeletion = (job: LiveJob): void => {
    job.timer?.()
    job.timer = clock.after(job.record.expiresAt - clock.now(), () => removeJob(job, 'expired').catch(removalFailed))
  }

  const removeJob = async (job: LiveJob, why: string): Promise<void> => {
    if (job.deleted) return
    job.deleted = true
    job.timer?.()
    job.relay?.abort()
    job.watchers.clear()
    job.log.clear()
    jobs.delete(job.record.id)
    for (const [sha, blob] of blobs) if (blob.jobId === job.record.id) blobs.delete(sha)
    // Deleted before it settled: the escrow is still on chain, so someone must finalize it.
    const chainJobId = job.record.verification.chainJobId
    if (!finalStates.has(job.record.state) && chainJobId !== null) orphans.follow(BigInt(chainJobId))
    await store.remove(job.record.id).catch(() => undefined)
    log('job deleted', { why })
  }

  const finish = async (job: LiveJob, state: 'completed' | 'failed', error: string | null): Promise<void> => {
    const r = job.record
    r.state = state
    r.error = error
    r.finishedAt = clock.now()
    r.startedAt ??= r.finishedAt
    if (state === 'failed') r.expiresAt = Math.min(r.expiresAt, r.finishedAt + options.retentionAfterFailureMs)
    counters[state]++
    job.relay?.abort()
    scheduleDeletion(job)
    emit(job)
    job.watchers.clear()
    // The workers' reported CPU time counts toward the client's quota, as the sandbox's does locally.
    for (const meter of meters) meter.charge(job.clientId, r.execution?.cpuSeconds ?? 0)
  }

  const track = (record: MarketJobRecord, clientId: string): LiveJob => {
    const job: LiveJob = {
      record,
      clientId,
      log: new JobLog({ captureBytes: options.outputCaptureBytes }),
      watchers: new Set(),
      relay: null,
      relayDone: false,
      nextRelayAt: 0,
      relayed: { stdout: 0, stderr: 0 },
      runner: null,
      timer: null,
      lastAnnounce: 0,
      settling: false,
      firstSettleAttempt: null,
      downloaded: new Set(),
      deleted: false,
    }
    jobs.set(record.id, job)
    blobs.set(record.verification.specHash, { jobId: record.id, name: 'spec' })
    blobs.set(record.bundleSha256, { jobId: record.id, name: 'bundle' })
    scheduleDeletion(job)
    return job
  }

  const announce = async (job: LiveJob): Promise<void> => {
    const r = job.record
    if (r.verification.chainJobId === null) return
    job.lastAnnounce = Date.now()
    await announcements
      .announce({ jobId: r.verification.chainJobId, specHash: r.verification.specHash, bundleSha256: r.bundleSha256, bundleSize: r.bundleSize, providers: host.multiaddrs().slice(0, 8) })
      .catch((error: unknown) => log('announcement failed', { code: errorCodeOf(error) ?? 'UNKNOWN' }))
  }

  const post = async (job: LiveJob): Promise<void> => {
    const r = job.record
    // In the ledger before it is sent: a gateway that dies before the receipt still finds the job after a restart.
    const entry = await ledger.posting({ specHash: r.verification.specHash as Hex, fromBlock: await market.publicClient.getBlockNumber() })
    const posted = await tracked(
      poster.post({
        specHash: r.verification.specHash as Hex,
        replicas: r.verification.replicas,
        quorum: r.verification.quorum,
        commitWindow: options.commitWindowSeconds,
        revealWindow: options.revealWindowSeconds,
        reward: BigInt(r.rewardWei),
      }),
    ).catch(async (error: unknown) => {
      await ledger.drop(entry).catch(() => undefined)
      throw error
    })
    await ledger.posted(entry, posted.jobId)
    r.verification.chainJobId = posted.jobId.toString()
    r.verification.txHashes.post = posted.hash
    r.verification.postBlock = posted.receipt.blockNumber.toString()
    r.verification.state = 'open'
    ensurePolling()
    await announce(job)
  }

  /** Follows the runner's log (else the committers'); once one was followed to the end, never again. */
  const startRelay = (job: LiveJob): void => {
    const chainJobId = job.record.verification.chainJobId
    if (job.relay || job.relayDone || job.deleted || chainJobId === null || finalStates.has(job.record.state) || Date.now() < job.nextRelayAt) return
    const relay = new AbortController()
    job.relay = relay
    const peers = async (): Promise<PeerId[]> => {
      const committers = await market.getSlots(BigInt(chainJobId)).catch(() => [])
      const found = await Promise.all(committers.filter((s) => s.worker).map((s) => peerOf(s.worker!).catch(() => null)))
      const runner = job.runner ? [job.runner] : []
      return [...runner, ...found.filter((p): p is PeerId => p !== null && !runner.some((r) => r.equals(p)))]
    }
    void relayJobLog({ logs, chainJobId, peers, log: job.log, relayed: job.relayed, signal: relay.signal }).then((done) => {
      job.relayDone ||= done
      if (!done) job.nextRelayAt = Date.now() + 2000
      if (job.relay === relay) job.relay = null
    })
  }

  /** A worker fetched the bundle: it is about to run the job, so the job runs and its log can be followed. */
  const onBundleFetched = (jobId: string, from: PeerId): void => {
    const job = jobs.get(jobId)
    if (!job || job.deleted || finalStates.has(job.record.state)) return
    job.runner ??= from
    if (job.record.state === 'queued') {
      job.record.state = 'running'
      job.record.startedAt = clock.now()
      emit(job)
    }
    startRelay(job)
  }

  const settle = async (job: LiveJob, chainJob: MarketJob): Promise<void> => {
    const r = job.record
    const v = r.verification
    const id = chainJob.jobId
    const anchorBlock = v.postBlock ? BigInt(v.postBlock) : chainJob.seedBlock
    const [slots, events] = await Promise.all([market.getSlots(id), market.getJobEvents(id, { fromBlock: deployment.deployBlock, anchorBlock })])
    v.confirmations = await settlementConfirmations({ market, jobId: id, anchorBlock, fromBlock: deployment.deployBlock, events })
    v.state = chainJob.status === 'Finalized' ? 'finalized' : chainJob.status === 'Inconclusive' ? 'inconclusive' : 'expired'
    v.resultRoot = chainJob.consensusRoot
    v.committed = chainJob.totalCommitted
    v.revealed = chainJob.totalRevealed
    const addresses = (pick: (s: (typeof slots)[number]) => boolean): string[] => slots.filter(pick).map((s) => s.worker!.toLowerCase())
    v.agreeing = addresses((s) => s.worker !== null && s.outcome === 'Won')
    v.dissenting = addresses((s) => s.worker !== null && s.outcome === 'Dissented')
    v.slashed = addresses((s) => s.worker !== null && s.slashed)
    v.txHashes.commits = events.filter((e) => e.eventName === 'SlotCommitted').map((e) => e.transactionHash)
    v.txHashes.reveals = events.filter((e) => e.eventName === 'SlotRevealed').map((e) => e.transactionHash)
    v.txHashes.finalize = events.find((e) => e.eventName === 'JobFinalized')?.transactionHash ?? null
    if (chainJob.status !== 'Finalized' || chainJob.consensusRoot === null) {
      const reason =
        chainJob.status === 'Inconclusive'
          ? `No ${chainJob.quorum} workers agreed on a result (inconclusive on chain); the reward was refunded. Check the job for non-determinism and submit it again.`
          : 'No worker took the job before its commit window closed; the reward was refunded. GET /pool shows the workers online.'
      await finish(job, 'failed', reason)
      return
    }
    const candidates = []
    for (const address of v.agreeing) {
      const peer = await peerOf(address).catch(() => null)
      if (peer) candidates.push({ address, peer })
    }
    const verified = await fetchVerifiedResult({
      results,
      chainJobId: id.toString(),
      root: chainJob.consensusRoot,
      candidates,
      timeoutMs: options.resultFetchTimeoutMs,
      claimFor: async (address) =>
        market.account?.signMessage?.({ message: resultClaimMessage({ chainId: deployment.chainId, market: deployment.market, jobId: id.toString(), worker: address as Address }) }),
      onRejected: (candidate, reason, lied) => {
        // A lie's reason names result files (job content): only the worker is logged then.
        if (lied) log('worker served a result that does not match the chain', { worker: candidate.address })
        else log('result fetch failed', { worker: candidate.address, reason: reason.slice(0, 200) })
        if (lied) void host.denyPeer(candidate.peer.toString()).catch(() => undefined)
      },
    })
    const contents = new Map(verified.payload.files.map((f) => [f.name, f.content]))
    for (const entry of verified.payload.entries) {
      await store.writeBlob(r.id, `sha256-${entry.sha256.slice(2)}`, contents.get(entry.name) ?? new Uint8Array())
    }
    r.result = verified.payload.entries.map((e) => ({ name: e.name, sha256: e.sha256, size: e.size }))
    v.resultVerified = true
    const text = (name: string): Buffer => Buffer.from(contents.get(name) ?? new Uint8Array())
    v.executions = await collectExecutionReports({
      results,
      chainId: deployment.chainId,
      market: deployment.market,
      chainJobId: id.toString(),
      revealers: await Promise.all(
        slots.filter((s) => s.worker !== null && s.revealedRoot !== null).map(async (s) => ({ address: s.worker!.toLowerCase(), root: s.revealedRoot!, peer: await peerOf(s.worker!).catch(() => null) })),
      ),
      known: new Map(verified.payload.execution === undefined ? [] : [[verified.address, verified.payload.execution]]),
      timeoutMs: options.reportFetchTimeoutMs,
    })
    const usage = summarizeExecutionReports(v.executions, chainJob.consensusRoot)
    // Without reports, a stream that filled the cap is the only sign it was cut.
    const stdoutTruncated = usage?.stdoutTruncated ?? text('stdout').length >= options.outputCaptureBytes
    const stderrTruncated = usage?.stderrTruncated ?? text('stderr').length >= options.outputCaptureBytes
    job.log.settle(text('stdout'), text('stderr'), stdoutTruncated, stderrTruncated)
    const { exitCode, termination } = parseExitEntry(text('exit'))
    r.execution = {
      cpuSeconds: usage?.cpuSeconds ?? null,
      memoryPeakBytes: usage?.memoryPeakBytes ?? null,
      exitCode,
      environment: r.manifest.environment,
      wallTimeMs: usage?.wallTimeMs ?? null,
      termination,
      stdoutTruncated,
      stderrTruncated,
      reportedBy: 'workers',
      reports: usage?.reports ?? 0,
    }
    await finish(job, termination === 'exited' && exitCode === 0 ? 'completed' : 'failed', null)
  }

  /** Chain time, so windows skipped with evm_increaseTime count as passed. */
  const chainNow = async (): Promise<number> => Number((await market.publicClient.getBlock()).timestamp)

  /** Closes the current round once the contract allows it and no worker did (finalize is permissionless). */
  const finalizeIfDue = async (chainJob: MarketJob, now: number): Promise<void> => {
    const commitsClosed = chainJob.committed === chainJob.roundSlots || now > chainJob.commitDeadline
    const due = chainJob.committed === 0 ? now > chainJob.commitDeadline : now > chainJob.revealDeadline || (commitsClosed && chainJob.revealed === chainJob.committed)
    if (!due) return
    await tracked(market.finalize(chainJob.jobId)).catch((error: unknown) => {
      // A worker finalized first, or the chain moved between the read and the call: read again next poll.
      if (!(error instanceof MarketRevertError)) log('finalize failed', { code: errorCodeOf(error) ?? 'UNKNOWN' })
    })
  }

  const follow = async (job: LiveJob, now: number): Promise<void> => {
    const r = job.record
    if (r.verification.chainJobId === null) return
    const chainJob = await market.getJob(BigInt(r.verification.chainJobId))
    const v = r.verification
    // A reorg dropped the post: the gateway's transactions send it again (accountTransactions.ts).
    if (chainJob.status === 'None') return
    // ...into another block: a first round's seed block is its post block, where its events start.
    if (chainJob.round === 0 && v.postBlock !== chainJob.seedBlock.toString()) v.postBlock = chainJob.seedBlock.toString()
    let changed = chainJob.totalCommitted !== v.committed || chainJob.totalRevealed !== v.revealed
    v.committed = chainJob.totalCommitted
    v.revealed = chainJob.totalRevealed
    if (chainJob.totalCommitted > 0 && r.state === 'queued') {
      r.state = 'running'
      r.startedAt = clock.now()
      changed = true
    }
    if (chainJob.totalCommitted > 0) startRelay(job)
    if (isOpenStatus(chainJob.status)) {
      // A reorg took back a settlement this gateway had seen.
      if (v.confirmations != null) {
        v.confirmations = null
        changed = true
      }
      if (changed) emit(job)
      // Re-announced while the current round has free slots: eligibility widens over the window, and
      // an escalation draws a new committee that must hear of the job too.
      if (chainJob.committed < chainJob.roundSlots && now <= chainJob.commitDeadline && Date.now() - job.lastAnnounce >= options.announceIntervalMs) void announce(job)
      await finalizeIfDue(chainJob, now)
      return
    }
    if (job.firstSettleAttempt === null && options.confirmations > 0) {
      // Settled, but a reorg may still undo it: completed only once the settlement is deep enough.
      const anchorBlock = v.postBlock ? BigInt(v.postBlock) : chainJob.seedBlock
      const confirmations = await settlementConfirmations({ market, jobId: chainJob.jobId, anchorBlock, fromBlock: deployment.deployBlock })
      if (confirmations !== v.confirmations) {
        v.confirmations = confirmations
        emit(job)
      }
      if (confirmations < options.confirmations) return
    }
    if (job.firstSettleAttempt === null) {
      job.firstSettleAttempt = Date.now()
      await ledger.drop(chainEntryKey(chainJob.jobId))
    }
    try {
      await settle(job, chainJob)
    } catch (error) {
      log('result not verified yet', { code: errorCodeOf(error) ?? 'UNKNOWN', message: errorMessageOf(error).slice(0, 300) })
      if (Date.now() - job.firstSettleAttempt > options.resultDeadlineMs) {
        await finish(job, 'failed', 'The job was agreed on chain, but no agreeing worker served a result that matches the on-chain root.')
      }
    }
  }

  const poll = async (): Promise<void> => {
    pollTimer = null
    const open = [...jobs.values()].filter((j) => !finalStates.has(j.record.state) && j.record.verification.chainJobId !== null && !j.settling)
    if (open.length === 0 || closed) return
    const now = await chainNow().catch(() => null)
    if (now !== null) {
      await Promise.all(
        open.map(async (job) => {
          job.settling = true
          try {
            await follow(job, now)
          } catch (error) {
            log('chain read failed', { code: errorCodeOf(error) ?? 'UNKNOWN' })
          } finally {
            job.settling = false
          }
        }),
      )
    }
    ensurePolling()
  }

  function ensurePolling(): void {
    if (closed || pollTimer) return
    pollTimer = setTimeout(() => void poll(), options.pollIntervalMs)
  }

  // An earlier run's jobs: their data died with it, but what it posted is still finalized.
  const orphans = followOrphanedJobs({ market, deployment, ledger, pollIntervalMs: options.pollIntervalMs, chainNow, finalizeIfDue, log })
  await orphans.adopt(await ledger.list())

  const find = (jobId: string): LiveJob => {
    const job = jobs.get(jobId)
    if (!job || job.deleted) throw new BackendError('JOB_NOT_FOUND', 'Job not found. It may have expired or its outputs were all downloaded (jobs are deleted then).', { details: jobId.slice(0, 64) })
    return job
  }

  const requireFinished = (job: LiveJob): void => {
    if (!finalStates.has(job.record.state)) throw new BackendError('JOB_NOT_FINISHED', 'The job has not finished yet; outputs exist once its status is completed or failed.', { details: job.record.state })
  }

  const outputEntry = (job: LiveJob, outputPath: string) => {
    const entry = job.record.result?.find((e) => e.name === `outputs/${outputPath}`)
    if (!entry) throw new BackendError('OUTPUT_NOT_FOUND', 'No such output file in this job. List the files with GET /outputs/:id.', { details: outputPath.slice(0, 256) })
    return entry
  }

  const markDownloaded = (job: LiveJob, paths: string[]): void => {
    for (const p of paths) job.downloaded.add(p)
    const outputs = (job.record.result ?? []).filter((e) => e.name.startsWith('outputs/'))
    if (outputs.length > 0 && outputs.every((e) => job.downloaded.has(e.name.slice('outputs/'.length)))) void removeJob(job, 'downloaded').catch(removalFailed)
  }

  const backend: MarketBackend = {
    mode: 'market',
    routes: marketPoolRoute(() => backend.pool()),

    async submit({ manifest: input, bundle, clientId }: SubmitJobParameters) {
      if (closed) throw new BackendError('BACKEND_CLOSED', 'The server is shutting down; submit again in a moment.')
      const open = [...jobs.values()].filter((j) => !finalStates.has(j.record.state)).length
      if (open >= options.maxOpenJobs) throw new BackendError('QUEUE_FULL', 'The gateway has too many jobs open on chain; retry in a few seconds.')
      const withReplicas = typeof input === 'object' && input !== null && !Array.isArray(input) && !('replicas' in input) ? { ...input, replicas: options.defaultReplicas } : input
      const { manifest, environmentDigest } = await validateMarketJob({ manifest: withReplicas, bundle, environments })
      const spec = buildSpecDocument({ manifest, bundle, environmentDigest })
      const now = clock.now()
      const replicas = manifest.replicas
      const record: MarketJobRecord = {
        id: newJobId(),
        state: 'queued',
        manifest,
        bundleSha256: spec.bundleSha256,
        bundleSize: bundle.byteLength,
        environmentDigest,
        rewardWei: (manifest.reward_wei === null ? options.rewardWei : BigInt(manifest.reward_wei)).toString(),
        submittedAt: now,
        startedAt: null,
        finishedAt: null,
        expiresAt: now + options.retentionMaxMs,
        execution: null,
        verification: {
          state: 'posting',
          resultVerified: false,
          resultRoot: null,
          replicas,
          quorum: manifest.quorum ?? majorityQuorum(replicas),
          committed: 0,
          revealed: 0,
          agreeing: [],
          dissenting: [],
          slashed: [],
          chainId: deployment.chainId,
          market: deployment.market.toLowerCase(),
          chainJobId: null,
          specHash: spec.specHash,
          txHashes: { post: null, commits: [], reveals: [], finalize: null },
          confirmations: null,
          confirmationsRequired: options.confirmations,
        },
        result: null,
        error: null,
      }
      await store.writeBlob(record.id, 'spec', spec.bytes)
      await store.writeBlob(record.id, 'bundle', bundle)
      const job = track(record, clientId)
      counters.total++
      try {
        await post(job)
      } catch (error) {
        await removeJob(job, 'not posted')
        counters.total--
        const detail = shortMessageOf(error)
        log('post failed', { code: errorCodeOf(error) ?? 'UNKNOWN', errorName: error instanceof MarketRevertError ? error.errorName : null })
        throw new BackendError('QUEUE_FULL', 'The gateway could not post the job on chain; retry in a moment.', { details: detail.split('\n')[0]?.slice(0, 300), cause: error })
      }
      return { jobId: record.id, status: 'queued', position: 0 }
    },

    status: (jobId) => statusOf(find(jobId)),

    logs: (jobId) => find(jobId).log.snapshot(),

    watch(jobId, listener) {
      const job = find(jobId)
      return watchJobLog({ log: job.log, watchers: job.watchers, status: statusOf(job), listener })
    },

    async openOutput(jobId, outputPath) {
      const job = find(jobId)
      requireFinished(job)
      const entry = outputEntry(job, outputPath)
      const stream = whenSent(store.openBlob(job.record.id, `sha256-${entry.sha256.slice(2)}`), entry.size, () => markDownloaded(job, [outputPath]))
      return { file: { path: outputPath, sizeBytes: entry.size, sha256: entry.sha256.slice(2) }, stream }
    },

    async openOutputArchive(jobId) {
      const job = find(jobId)
      requireFinished(job)
      const outputs = (job.record.result ?? []).filter((e) => e.name.startsWith('outputs/'))
      return createOutputArchive({
        entries: outputs.map((e) => ({
          path: e.name.slice('outputs/'.length),
          sizeBytes: e.size,
          open: async (): Promise<Readable> => store.openBlob(job.record.id, `sha256-${e.sha256.slice(2)}`),
        })),
        onComplete: () => markDownloaded(job, outputs.map((e) => e.name.slice('outputs/'.length))),
      })
    },

    async delete(jobId) {
      const job = find(jobId)
      if (!finalStates.has(job.record.state)) {
        // The market has no cancel (a requester could redraw a job's seed with it): the job runs
        // out on chain, and the escrow comes back if nobody takes it.
        for (const watcher of job.watchers) watcher({ type: 'status', status: { ...statusOf(job), status: 'failed', error: 'The job was cancelled: its data was deleted.' } })
      }
      await removeJob(job, 'deleted')
    },

    // Market jobs are paid for on chain (reward_wei), not from a client's CPU quota.
    meterUsage(meter) {
      meters.push(meter)
    },

    stats(): BackendStats {
      const all = [...jobs.values()]
      return {
        queueLength: all.filter((j) => j.record.state === 'queued').length,
        runningJobs: all.filter((j) => j.record.state === 'running').length,
        parallelism: Math.max(1, heartbeats.workersSeen.list().length),
        jobsTotal: counters.total,
        completedTotal: counters.completed,
        failedTotal: counters.failed,
        retainedJobs: jobs.size,
        activeJobsOf: activeOf,
      }
    },

    environments: () => environments,

    privacy() {
      return (
        'Job data is kept by this gateway and by the staked workers that ran it in memory, or on disk only encrypted under keys held in their memory (unreadable once the process stops). ' +
        `On this gateway it is ${describeRetention(options)}; ` +
        `on the workers, once this gateway has fetched the result, or ${Math.round(resultWindowMs / 60_000)} minutes after the job settled on chain at most. ` +
        'This is a public network: the workers that take a job see its bundle and manifest, anyone may fetch its result from a worker once revealed, and the chain keeps its spec hash and result root (hashes, not content) for good.'
      )
    },

    health(): BackendHealth {
      return {
        healthy: !closed,
        workerId: workerKey.workerId,
        mode: 'market',
        isolation: 'replicated',
        isolationNote: `Jobs run in the sandboxes of staked workers on chain ${deployment.chainId}; results are accepted only when a quorum agrees and every byte matches the on-chain root.`,
        gpus: [],
        gpuNote: 'GPUs belong to the workers; GET /pool lists what each offers.',
        packageIndexes: { pip: false, npm: false },
        p2p: { peerId: host.peerId, multiaddrs: host.multiaddrs() },
        chain: { chainId: deployment.chainId, market: deployment.market.toLowerCase(), rpcUrl: options.publicRpcUrl },
      }
    },

    async pool() {
      return Promise.all(
        heartbeats.workersSeen.list().map(async (w) => {
          const account = await market.getAccount(w.address as Address).catch(() => null)
          return {
            peerId: w.peerId,
            address: w.address,
            stakeWei: account ? account.staked.toString() : null,
            freeStakeWei: account ? account.free.toString() : null,
            ask: w.ask ?? null,
            capabilities: w.capabilities,
            environments: w.environments,
            load: w.load,
            lastSeen: w.lastSeen,
          }
        }),
      )
    },

    async close() {
      closed = true
      if (pollTimer) clearTimeout(pollTimer)
      orphans.stop()
      // Their keys die with this process: the files would be noise, so they go now rather than at the next start.
      await Promise.all([...jobs.values()].map((job) => removeJob(job, 'closed')))
      announcements.stop()
      heartbeats.stop()
      await bundles.stop().catch(() => undefined)
      await Promise.all(sending)
    },
  }
  return backend
}
