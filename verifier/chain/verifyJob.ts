// The chain's own account of one market job, for anyone who trusts neither gateway nor worker:
// status, spec hash, consensus root, each slot's worker, revealed root, outcome, payment or
// slash, and the transaction and block of every step, cross-checked between storage and events.
import type { Address, Hash, Hex, PublicClient } from 'viem'
import type { ChainJobId } from '../chainJobId.ts'
import { VerifierError } from '../errors.ts'
import { parseSpecHash } from '../parseSpecHash.ts'
import type { SpecHash } from '../parseSpecHash.ts'
import { readJobEvents, type MarketJobEvent } from './readJobEvents.ts'
import { jobStatuses, readMarketJob, type JobStatusName } from './readMarketJob.ts'
import { readMarketSlots, slotOutcomes, type SlotOutcomeName } from './readMarketSlots.ts'
import { shortMessageOf } from '../../errors/index.ts'

export type ChainStep = { txHash: Hash; blockNumber: bigint }

export type VerifiedSlot = {
  index: number
  /** Null for a slot nobody took. */
  worker: Address | null
  /** Null until revealed. */
  revealedRoot: Hex | null
  outcome: SlotOutcomeName
  /** Credited to this worker by the settlement (reward + share of the slashed collateral; in an
   * inconclusive job, its share of the no-shows' collateral). */
  paid: bigint
  /** Collateral this worker lost. */
  slashed: bigint
  commit: ChainStep | null
  reveal: ChainStep | null
}

/** Why a job is or is not verifiable; `VERIFIED` only for a Finalized job. */
export type JobVerdictCode = 'VERIFIED' | 'JOB_NOT_FINALIZED' | 'JOB_INCONCLUSIVE'

export type VerifyJobParameters = {
  /** The chain the deployment is on; the RPC must serve exactly this one. */
  chainId: number
  market: Address
  /** The on-chain job id (not a gateway's job id). */
  jobId: ChainJobId
  /** The oldest block to scan for events (the deployment block); default 0. Reads are paged
   * (pageLogs) around the job's seed block, which lies between its post and its settlement. */
  fromBlock?: bigint | undefined
}

export type VerifyJobReturnType = {
  chainId: number
  market: Address
  jobId: ChainJobId
  status: JobStatusName
  requester: Address
  specHash: SpecHash
  /** The root that reached quorum; null unless Finalized. */
  consensusRoot: Hex | null
  replicas: number
  quorum: number
  reward: bigint
  collateral: bigint
  slots: VerifiedSlot[]
  /** Sums over the slots, and what went back to the requester. */
  totals: { paid: bigint; slashed: bigint; refunded: bigint }
  steps: {
    posted: ChainStep | null
    /** The transaction that drew the escalation committee, if the first one disagreed. */
    escalated: ChainStep | null
    finalized: ChainStep | null
    /** Always null: the market has no cancellation (a requester could otherwise redraw the seed). */
    cancelled: ChainStep | null
    refunds: Array<ChainStep & { amount: bigint }>
  }
  verdict: { code: JobVerdictCode; verified: boolean; reason: string }
  /** Blocks from the settling block to the RPC's head, both counted; null while the job is open. A
   * reorg deeper than this could still undo the settlement (docs/network.md, "Confirmations"). */
  confirmations: number | null
}

function step(event: MarketJobEvent | undefined): ChainStep | null {
  return event ? { txHash: event.transactionHash, blockNumber: event.blockNumber } : null
}

function inconsistent(jobId: ChainJobId, what: string): VerifierError {
  return new VerifierError('CHAIN_INCONSISTENT', `The RPC's storage and events disagree about job ${jobId} (${what}); ask another RPC node.`)
}

function verdictOf(status: JobStatusName, root: Hex | null): VerifyJobReturnType['verdict'] {
  if (status === 'Finalized') return { code: 'VERIFIED', verified: true, reason: `a quorum of workers agreed on result root ${root}` }
  if (status === 'Inconclusive') {
    return { code: 'JOB_INCONCLUSIVE', verified: false, reason: 'the workers did not reach quorum on one result root; nothing can be verified (the requester was refunded)' }
  }
  if (status === 'Open' || status === 'Escalated') {
    return { code: 'JOB_NOT_FINALIZED', verified: false, reason: 'the job is still open (commit or reveal under way); verify again once it is finalized' }
  }
  return { code: 'JOB_NOT_FINALIZED', verified: false, reason: `the job ended ${status.toLowerCase()} without a result` }
}

/** Checks the packed `JobFinalized` outcomes and root against storage, so one lying view cannot pass. */
function checkSettlement(jobId: ChainJobId, status: JobStatusName, root: Hex | null, outcomes: SlotOutcomeName[], finalized: MarketJobEvent | undefined): void {
  if (status !== 'Finalized' && status !== 'Inconclusive') return
  if (!finalized) throw inconsistent(jobId, `status ${status} but no JobFinalized event`)
  const args = finalized.args as { status: number; consensusRoot: Hex; outcomes: bigint }
  if (jobStatuses[args.status] !== status) throw inconsistent(jobId, 'settled status')
  if (status === 'Finalized' && args.consensusRoot.toLowerCase() !== root?.toLowerCase()) throw inconsistent(jobId, 'consensus root')
  outcomes.forEach((outcome, i) => {
    const packed = slotOutcomes[Number((args.outcomes >> BigInt(4 * i)) & 0xfn)]
    if (outcome !== 'Empty' && packed !== outcome) throw inconsistent(jobId, `outcome of slot ${i}`)
  })
}

async function onChain<T>(rpc: () => Promise<T>): Promise<T> {
  try {
    return await rpc()
  } catch (cause) {
    throw new VerifierError('CHAIN_UNREACHABLE', 'The RPC did not answer; check the --rpc URL and that the node is synced.', {
      details: shortMessageOf(cause),
      cause,
    })
  }
}

/**
 * Reads job `jobId` of `market` and everything that happened to it. Throws CHAIN_MISMATCH when the
 * RPC serves another chain, JOB_NOT_FOUND for an unknown id, CHAIN_UNREACHABLE, CHAIN_INCONSISTENT;
 * a job that exists but is not (yet) verifiable is reported in `verdict`, not thrown.
 */
export async function verifyJob(client: PublicClient, { chainId, market, jobId, fromBlock }: VerifyJobParameters): Promise<VerifyJobReturnType> {
  const served = await onChain(() => client.getChainId())
  if (served !== chainId) {
    throw new VerifierError('CHAIN_MISMATCH', `The RPC serves chain ${served} but the deployment is on chain ${chainId}; use an RPC of chain ${chainId}.`)
  }
  const job = await onChain(() => readMarketJob(client, { market, jobId }))
  if (job.status === 'None') {
    throw new VerifierError('JOB_NOT_FOUND', `Market ${market} on chain ${chainId} has no job ${jobId}; check the on-chain job id (GET /status/:id shows it as verification.job_id).`)
  }
  const [slots, events, head] = await onChain(() =>
    Promise.all([readMarketSlots(client, { market, jobId }), readJobEvents(client, { market, jobId, fromBlock, anchorBlock: job.seedBlock }), client.getBlockNumber({ cacheTime: 0 })]),
  )
  const finalized = events.find((e) => e.eventName === 'JobFinalized')
  checkSettlement(jobId, job.status, job.consensusRoot, slots.map((s) => s.outcome), finalized)
  const payout = (finalized?.args.payout as bigint | undefined) ?? 0n
  const posted = events.find((e) => e.eventName === 'JobPosted')
  if (!posted) throw inconsistent(jobId, 'no JobPosted event')
  const slotEvent = (name: string, index: number) => events.find((e) => e.eventName === name && BigInt(e.args.slot as bigint) === BigInt(index))

  const verifiedSlots = slots.map((slot): VerifiedSlot => ({
    index: slot.index,
    worker: slot.worker,
    revealedRoot: slot.revealedRoot,
    outcome: slot.outcome,
    paid: slot.outcome === 'Won' || slot.outcome === 'Released' ? payout : 0n,
    slashed: slot.slashed ? job.collateral : 0n,
    commit: step(slotEvent('SlotCommitted', slot.index)),
    reveal: step(slotEvent('SlotRevealed', slot.index)),
  }))
  const refunds = events
    .filter((e) => e.eventName === 'RequesterRefunded')
    .map((e) => ({ ...(step(e) as ChainStep), amount: e.args.amount as bigint }))
  const sum = (values: bigint[]): bigint => values.reduce((a, b) => a + b, 0n)
  return {
    chainId,
    market,
    jobId,
    status: job.status,
    requester: job.requester,
    specHash: parseSpecHash(String(posted.args.specHash)),
    consensusRoot: job.consensusRoot,
    replicas: job.replicas,
    quorum: job.quorum,
    reward: job.reward,
    collateral: job.collateral,
    slots: verifiedSlots,
    totals: {
      paid: sum(verifiedSlots.map((s) => s.paid)),
      slashed: sum(verifiedSlots.map((s) => s.slashed)),
      refunded: sum(refunds.map((r) => r.amount)),
    },
    steps: {
      posted: step(posted),
      escalated: step(events.find((e) => e.eventName === 'JobEscalated')),
      finalized: step(finalized),
      cancelled: null,
      refunds,
    },
    verdict: verdictOf(job.status, job.consensusRoot),
    confirmations: finalized ? Number(head - finalized.blockNumber + 1n) : null,
  }
}

/** The consensus root of a verified job; throws JOB_NOT_FINALIZED or JOB_INCONCLUSIVE otherwise. */
export function consensusRootOf(report: VerifyJobReturnType): Hex {
  if (report.verdict.verified && report.consensusRoot) return report.consensusRoot
  const code = report.verdict.code === 'JOB_INCONCLUSIVE' ? 'JOB_INCONCLUSIVE' : 'JOB_NOT_FINALIZED'
  throw new VerifierError(code, `Job ${report.jobId} has no consensus root: ${report.verdict.reason}.`)
}
