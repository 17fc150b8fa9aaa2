// The `market` JobBackend: each submitted job is posted on chain (the gateway's account pays the
// reward), its spec document and bundle are served over libp2p and announced on the jobs topic,
// the chain is followed until the job settles, and the result is fetched from a worker in the
// majority and checked byte for byte against the on-chain root before anyone sees it. Job data is
// sealed at rest under keys held in memory only (jobStore.ts): a restarted gateway has none of it,
// and only finalizes what it had posted (openJobLedger.ts, followOrphanedJobs.ts).
import type { Readable } from 'node:stream'
import type { Address } from 'viem'
import type { Deployment } from '../../chain/deployment.ts'
import { MarketRevertError } from '../../chain/errors.ts'
import type { MarketClient } from '../../chain/marketClient.ts'
import type { MarketJob } from '../../chain/marketReader.ts'
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
import type { GatewayJobId, WorkerKey } from '../../../verifier/index.ts'
import { BackendError } from '../backendError.ts'
import {
  isFinalState,
  type BackendEnvironments,
  type BackendHealth,
  type BackendStats,
  type JobBackend,
  type JobStatus,
  type PoolWorker,
  type SubmitJobParameters,
} from '../jobBackend.ts'
import { whenSent } from '../jobTable/whenSent.ts'
import { createJobTable } from '../jobTable/createJobTable.ts'
import { createOutputArchive } from '../jobTable/outputArchive.ts'
import { systemClock, type Clock } from '../../clock/systemClock.ts'
import { describeRetention } from '../describeRetention.ts'
import { resultWindowMs } from '../../market/resultWindow.ts'
import type { MarketBackendOptions } from './marketBackendOptions.ts'
import { followOrphanedJobs } from './followOrphanedJobs.ts'
import { gatewayChain } from './gatewayChain.ts'
import { jobLogRelays } from './jobLogRelays.ts'
import { newLiveMarketJob, type LiveMarketJob } from './liveMarketJob.ts'
import { marketChainFollower } from './marketChainFollower.ts'
import type { JobStore, MarketJobRecord } from './jobStore.ts'
import type { OpenJobLedger } from './openJobLedger.ts'
import { settleMarketJob } from './settleMarketJob.ts'
import { buildSpecDocument } from './specDocument.ts'
import { marketJobStatus } from './marketJobStatus.ts'
import { newMarketJobRecord } from './newMarketJobRecord.ts'
import { marketPoolRoute } from './marketPoolRoute.ts'
import { mayPost, runsWanted } from './postAdmission.ts'
import { validateMarketJob } from './validateMarketJob.ts'
import { errorCodeOf, errorMessageOf, shortMessageOf } from '../../../errors/index.ts'

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

/** What one worker's heartbeat may add to the places the gateway counts on (postAdmission.ts). */
const maxPlacesPerWorker = 64
/** How often held jobs are looked at (ms): well under a block. */
const heldCheckMs = 500

/** A posted job still waiting for runs: on chain (or on its way), fewer commits than replicas. */
const isWaitingForRuns = (job: LiveMarketJob): boolean => {
  const v = job.record.verification
  return (v.state === 'posting' || v.state === 'open') && v.committed < v.replicas
}

export async function createMarketBackend(options: MarketBackendOptions, components: MarketBackendComponents): Promise<MarketBackend> {
  const { market, deployment, host, store, ledger, environments, workerKey } = components
  const clock = components.clock ?? systemClock
  const log = components.log ?? (() => undefined)
  const blobs = new Map<string, { jobId: GatewayJobId; name: 'spec' | 'bundle' }>()
  let closed = false
  const chain = gatewayChain({ market, deployment, log })
  const bundles: BundleService = bundleService({
    getBundle: async (sha256, from) => {
      const blob = blobs.get(sha256)
      if (!blob) return undefined
      const job = blob.name === 'bundle' ? table.get(blob.jobId) : undefined
      if (job) relays.bundleFetched(job, from)
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

  // Jobs waiting at the gateway for the workers to have room (postAdmission.ts), first in line first.
  const held: LiveMarketJob[] = []
  const statusOf = (job: LiveMarketJob): JobStatus => marketJobStatus(job.record, held.indexOf(job) + 1)

  const outputPaths = (job: LiveMarketJob): string[] =>
    (job.record.result ?? []).filter((e) => e.name.startsWith('outputs/')).map((e) => e.name.slice('outputs/'.length))

  const table = createJobTable<LiveMarketJob>({
    lifecycle: (job) => job.record,
    statusOf,
    outputPaths,
    async release(job) {
      const waiting = held.indexOf(job)
      if (waiting >= 0) held.splice(waiting, 1)
      job.relay?.abort()
      for (const [sha, blob] of blobs) if (blob.jobId === job.id) blobs.delete(sha)
      // Deleted before it settled: the escrow is still on chain, so someone must finalize it.
      const chainJobId = job.record.verification.chainJobId
      if (!isFinalState(job.record.state) && chainJobId !== null) orphans.follow(chainJobId)
      await store.remove(job.id).catch(() => undefined)
    },
    retentionAfterFailureMs: options.retentionAfterFailureMs,
    clock,
    log,
  })
  const emit = (job: LiveMarketJob): void => table.emit(job)

  const finish = async (job: LiveMarketJob, state: 'completed' | 'failed', error: string | null): Promise<void> => {
    // A job that settled before anyone was seen running it ran at some point before that.
    job.record.startedAt ??= clock.now()
    job.relay?.abort()
    table.finish(job, state, error)
    // The workers' reported CPU time counts toward the client's quota, as the sandbox's does locally.
    table.charge(job.clientId, job.record.execution?.cpuSeconds ?? 0)
  }

  const track = (record: MarketJobRecord, clientId: string): LiveMarketJob => {
    const job = newLiveMarketJob({ record, clientId, captureBytes: options.outputCaptureBytes })
    blobs.set(record.verification.specHash, { jobId: record.id, name: 'spec' })
    blobs.set(record.bundleSha256, { jobId: record.id, name: 'bundle' })
    table.add(job)
    return job
  }

  const announce = async (job: LiveMarketJob): Promise<void> => {
    const r = job.record
    if (r.verification.chainJobId === null) return
    job.lastAnnounce = Date.now()
    await announcements
      .announce({
        jobId: r.verification.chainJobId,
        specHash: r.verification.specHash,
        bundleSha256: r.bundleSha256,
        bundleSize: r.bundleSize,
        providers: host.multiaddrs().slice(0, 8),
      })
      .catch((error: unknown) => log('announcement failed', { code: errorCodeOf(error) ?? 'UNKNOWN' }))
  }

  const post = async (job: LiveMarketJob): Promise<void> => {
    const r = job.record
    // In the ledger before it is sent: a gateway that dies before the receipt still finds the job after a restart.
    const entry = await ledger.posting({ specHash: r.verification.specHash, fromBlock: await chain.blockNumber() })
    const posted = await chain
      .post({
        specHash: r.verification.specHash,
        replicas: r.verification.replicas,
        quorum: r.verification.quorum,
        commitWindow: options.commitWindowSeconds,
        revealWindow: options.revealWindowSeconds,
        reward: BigInt(r.rewardWei),
      })
      .catch(async (error: unknown) => {
        await ledger.drop(entry).catch(() => undefined)
        throw error
      })
    await ledger.posted(entry, posted.jobId)
    r.verification.chainJobId = posted.jobId
    r.verification.txHashes.post = posted.hash
    r.verification.postBlock = posted.receipt.blockNumber.toString()
    r.verification.state = 'open'
    follower.wake()
    await announce(job)
  }

  /** Whether `job` fits beside what this gateway's posted jobs still want run (postAdmission.ts). */
  const fits = (job: LiveMarketJob): boolean => {
    if (!options.holdForWorkers) return true
    // A worker's own word: capped, so one heartbeat cannot claim the whole network.
    const places = heartbeats.workersSeen.list().reduce((sum, w) => sum + Math.min(w.capabilities.maxJobs, maxPlacesPerWorker), 0)
    const posted = table.jobs().filter((j) => j !== job && !held.includes(j) && !isFinalState(j.record.state) && isWaitingForRuns(j))
    const wanted = runsWanted(posted.map((j) => j.record.verification))
    return mayPost({ places, wanted, replicas: job.record.verification.replicas })
  }

  /** Posts the held jobs that fit now, in line; one the chain refuses fails with the reason. */
  const postHeld = (): void => {
    const before = held.length
    while (!closed && held.length > 0 && fits(held[0]!)) {
      const job = held.shift()!
      emit(job)
      post(job).then(() => emit(job), async (error: unknown) => {
        log('post failed', { code: errorCodeOf(error) ?? 'UNKNOWN', errorName: error instanceof MarketRevertError ? error.errorName : null })
        await finish(job, 'failed', `The gateway could not post the job on chain: ${shortMessageOf(error).split('\n')[0]?.slice(0, 300)}`)
      })
    }
    // The rest moved up the line: each status shows its new place.
    if (held.length < before) for (const job of held) emit(job)
  }
  const admission = setInterval(postHeld, heldCheckMs)
  admission.unref()

  const relays = jobLogRelays({ logs, chain, clock, emit })

  /** The job settled deep enough: its result is fetched from an agreeing worker and checked against the chain. */
  const settle = async (job: LiveMarketJob, chainJob: MarketJob): Promise<void> => {
    try {
      const { state, error } = await settleMarketJob({
        record: job.record,
        jobLog: job.log,
        chainJob,
        market,
        deployment,
        results,
        store,
        peerOf: chain.peerOf,
        denyPeer: (peerId) => void host.denyPeer(peerId).catch(() => undefined),
        resultFetchTimeoutMs: options.resultFetchTimeoutMs,
        reportFetchTimeoutMs: options.reportFetchTimeoutMs,
        outputCaptureBytes: options.outputCaptureBytes,
        log,
      })
      await finish(job, state, error)
    } catch (error) {
      log('result not verified yet', { code: errorCodeOf(error) ?? 'UNKNOWN', message: errorMessageOf(error).slice(0, 300) })
      if (Date.now() - (job.firstSettleAttempt ?? Date.now()) > options.resultDeadlineMs) {
        await finish(job, 'failed', 'The job was agreed on chain, but no agreeing worker served a result that matches the on-chain root.')
      }
    }
  }

  const follower = marketChainFollower({ chain, ledger, jobs: () => table.jobs(), options, announce, startRelay: relays.start, emit, settle, clock, log })

  // An earlier run's jobs: their data died with it, but what it posted is still finalized.
  const orphans = followOrphanedJobs({
    market,
    deployment,
    ledger,
    pollIntervalMs: options.pollIntervalMs,
    chainNow: async () => (await chain.now()).timestamp,
    finalizeIfDue: chain.finalizeIfDue,
    log,
  })
  await orphans.adopt(await ledger.list())

  const outputEntry = (job: LiveMarketJob, outputPath: string) => {
    const entry = job.record.result?.find((e) => e.name === `outputs/${outputPath}`)
    if (!entry)
      throw new BackendError('OUTPUT_NOT_FOUND', 'No such output file in this job. List the files with GET /outputs/:id.', {
        details: outputPath.slice(0, 256),
      })
    return entry
  }

  const backend: MarketBackend = {
    mode: 'market',
    routes: marketPoolRoute(() => backend.pool()),

    async submit({ manifest: input, bundle, clientId }: SubmitJobParameters) {
      if (closed) throw new BackendError('BACKEND_CLOSED', 'The server is shutting down; submit again in a moment.')
      const open = table.jobs().filter((j) => !isFinalState(j.record.state)).length
      if (open >= options.maxOpenJobs) throw new BackendError('QUEUE_FULL', 'The gateway has too many jobs open on chain; retry in a few seconds.')
      const withReplicas =
        typeof input === 'object' && input !== null && !Array.isArray(input) && !('replicas' in input) ? { ...input, replicas: options.defaultReplicas } : input
      const { manifest, environmentDigest } = await validateMarketJob({ manifest: withReplicas, bundle, environments })
      const spec = buildSpecDocument({ manifest, bundle, environmentDigest })
      const record = newMarketJobRecord({
        manifest,
        spec,
        bundleSize: bundle.byteLength,
        environmentDigest,
        rewardWei: manifest.reward_wei === null ? options.rewardWei : BigInt(manifest.reward_wei),
        now: clock.now(),
        retentionMaxMs: options.retentionMaxMs,
        deployment,
        confirmationsRequired: options.confirmations,
      })
      await store.writeBlob(record.id, 'spec', spec.bytes)
      await store.writeBlob(record.id, 'bundle', bundle)
      const job = track(record, clientId)
      if (held.length > 0 || !fits(job)) {
        held.push(job)
        log('job held until the workers have room', { position: held.length })
        return { jobId: record.id, status: 'queued', position: held.length }
      }
      try {
        await post(job)
      } catch (error) {
        await table.discard(job)
        const detail = shortMessageOf(error)
        log('post failed', { code: errorCodeOf(error) ?? 'UNKNOWN', errorName: error instanceof MarketRevertError ? error.errorName : null })
        throw new BackendError('QUEUE_FULL', 'The gateway could not post the job on chain; retry in a moment.', {
          details: detail.split('\n')[0]?.slice(0, 300),
          cause: error,
        })
      }
      return { jobId: record.id, status: 'queued', position: 0 }
    },

    status: (jobId) => statusOf(table.find(jobId)),

    logs: (jobId) => table.find(jobId).log.snapshot(),

    watch: (jobId, listener) => table.watch(table.find(jobId), listener),

    async openOutput(jobId, outputPath) {
      const job = table.find(jobId)
      table.requireFinished(job)
      const entry = outputEntry(job, outputPath)
      const stream = whenSent(store.openBlob(job.record.id, `sha256-${entry.sha256.slice(2)}`), entry.size, () => table.markDownloaded(job, [outputPath]))
      return { file: { path: outputPath, sizeBytes: entry.size, sha256: entry.sha256.slice(2) }, stream }
    },

    async openOutputArchive(jobId) {
      const job = table.find(jobId)
      table.requireFinished(job)
      const outputs = (job.record.result ?? []).filter((e) => e.name.startsWith('outputs/'))
      return createOutputArchive({
        entries: outputs.map((e) => ({
          path: e.name.slice('outputs/'.length),
          sizeBytes: e.size,
          open: async (): Promise<Readable> => store.openBlob(job.record.id, `sha256-${e.sha256.slice(2)}`),
        })),
        onComplete: () => table.markDownloaded(job, outputPaths(job)),
      })
    },

    // The market has no cancel (a requester could redraw a job's seed with it): a job deleted
    // before it settled runs out on chain, and the escrow comes back if nobody takes it.
    delete: (jobId) => table.remove(table.find(jobId), 'deleted'),

    // Market jobs are paid for on chain (reward_wei); the workers' reported CPU time still counts.
    meterUsage: (meter) => table.meterUsage(meter),

    stats(): BackendStats {
      const all = table.jobs()
      return {
        queueLength: all.filter((j) => j.record.state === 'queued').length,
        runningJobs: all.filter((j) => j.record.state === 'running').length,
        parallelism: Math.max(1, heartbeats.workersSeen.list().length),
        ...table.stats(),
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
      clearInterval(admission)
      follower.stop()
      orphans.stop()
      // Their keys die with this process: the files would be noise, so they go now rather than at the next start.
      await table.close()
      announcements.stop()
      heartbeats.stop()
      await bundles.stop().catch(() => undefined)
      await chain.idle()
    },
  }
  return backend
}
