// Follows the gateway's open market jobs on chain, one read per job and block while any is open:
// the commits and reveals as they land (the job runs, its log is relayed), announcements again while
// the round has free slots, a finalize when the round may close and no worker did, what a reorg
// changes (a post dropped, a post moved under another id, a settlement taken back) and, once the
// settlement is as deep as the chain needs, the result fetch (`settle`).
import type { Hex } from 'viem'
import { isOpenStatus, type MarketJob } from '../../chain/marketReader.ts'
import type { Clock } from '../../clock/systemClock.ts'
import { errorCodeOf } from '../../../errors/index.ts'
import { isFinalState } from '../jobBackend.ts'
import type { GatewayChain } from './gatewayChain.ts'
import type { LiveMarketJob } from './liveMarketJob.ts'
import type { MarketBackendOptions } from './marketBackendOptions.ts'
import { chainEntryKey, type OpenJobLedger } from './openJobLedger.ts'

export type MarketChainFollowerParameters = {
  chain: GatewayChain
  ledger: OpenJobLedger
  /** The jobs this gateway holds (the open ones are followed). */
  jobs: () => LiveMarketJob[]
  options: Pick<MarketBackendOptions, 'pollIntervalMs' | 'announceIntervalMs' | 'confirmations'>
  announce: (job: LiveMarketJob) => Promise<void>
  startRelay: (job: LiveMarketJob) => void
  /** The job's status changed. */
  emit: (job: LiveMarketJob) => void
  /** The job settled deep enough: fetch and check its result, and finish it. */
  settle: (job: LiveMarketJob, chainJob: MarketJob) => Promise<void>
  clock: Clock
  log: (message: string, context: Record<string, unknown>) => void
}

export type MarketChainFollower = {
  /** A job was posted: poll (again) unless already polling. */
  wake(): void
  stop(): void
}

export function marketChainFollower({
  chain,
  ledger,
  jobs,
  options,
  announce,
  startRelay,
  emit,
  settle,
  clock,
  log,
}: MarketChainFollowerParameters): MarketChainFollower {
  let timer: NodeJS.Timeout | null = null
  let stopped = false

  /** The post is mined again under another id: the job, its ledger entry and its announcements move there. */
  async function followMovedPost(job: LiveMarketJob): Promise<void> {
    const v = job.record.verification
    if (!v.txHashes.post || v.chainJobId === null || !v.postBlock) return
    const followed = new Set(jobs().map((j) => j.record.verification.chainJobId))
    const moved = await chain.findMovedPost({
      postHash: v.txHashes.post as Hex,
      specHash: v.specHash,
      postBlock: BigInt(v.postBlock),
      taken: (id) => followed.has(id),
    })
    if (!moved || moved.jobId === v.chainJobId) return
    log('post moved by a reorg', { from: v.chainJobId.toString(), to: moved.jobId.toString() })
    const entry = await ledger.posting({ specHash: v.specHash, fromBlock: moved.blockNumber })
    await ledger.posted(entry, moved.jobId)
    await ledger.drop(chainEntryKey(v.chainJobId))
    v.chainJobId = moved.jobId
    v.postBlock = moved.blockNumber.toString()
    emit(job)
    await announce(job)
  }

  async function follow(job: LiveMarketJob, now: number, head: Hex): Promise<void> {
    const r = job.record
    const v = r.verification
    if (v.chainJobId === null) return
    // Once per block, not once per poll (gatewayChain.getJob).
    const chainJob = await chain.getJob(v.chainJobId, head)
    // A reorg dropped the post: the gateway's transactions send it again (accountTransactions.ts).
    if (chainJob.status === 'None') return
    // ...and another requester's post took its id first: this job is not ours to follow or fetch.
    if (chainJob.requester.toLowerCase() !== chain.address?.toLowerCase()) return followMovedPost(job)
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
      // Announced again while the current round has free slots: eligibility widens over the window,
      // and an escalation draws a new committee that must hear of the job too.
      if (chainJob.committed < chainJob.roundSlots && now <= chainJob.commitDeadline && Date.now() - job.lastAnnounce >= options.announceIntervalMs)
        void announce(job)
      return chain.finalizeIfDue(chainJob, now)
    }
    if (job.firstSettleAttempt === null && options.confirmations > 0) {
      // Settled, but a reorg may still undo it: completed only once the settlement is deep enough.
      const confirmations = await chain.settlementConfirmations(chainJob.jobId, v.postBlock ? BigInt(v.postBlock) : chainJob.seedBlock)
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
    await settle(job, chainJob)
  }

  async function poll(): Promise<void> {
    timer = null
    const open = jobs().filter((j) => !isFinalState(j.record.state) && j.record.verification.chainJobId !== null && !j.following)
    if (open.length === 0 || stopped) return
    const latest = await chain.now().catch(() => null)
    if (latest !== null) {
      const { timestamp: now, head } = latest
      await Promise.all(
        open.map(async (job) => {
          job.following = true
          try {
            await follow(job, now, head)
          } catch (error) {
            log('chain read failed', { code: errorCodeOf(error) ?? 'UNKNOWN' })
          } finally {
            job.following = false
          }
        }),
      )
    }
    wake()
  }

  function wake(): void {
    if (stopped || timer) return
    timer = setTimeout(() => void poll(), options.pollIntervalMs)
  }

  return {
    wake,
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}
