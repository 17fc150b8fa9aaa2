// The JSON form of a chain verification report, shared by `GET /verify/:id` and `sandrun verify
// --json`: snake_case, wei amounts and block numbers as decimal strings so no precision is lost.
import type { ChainStep, VerifyJobReturnType } from './verifyJob.ts'

export type ChainStepJson = { tx_hash: string; block_number: string }

export type JobReportJson = {
  chain_id: number
  market: string
  job_id: string
  status: string
  requester: string
  spec_hash: string
  consensus_root: string | null
  replicas: number
  quorum: number
  reward_wei: string
  collateral_wei: string
  slots: Array<{
    index: number
    worker: string | null
    revealed_root: string | null
    outcome: string
    paid_wei: string
    slashed_wei: string
    commit: ChainStepJson | null
    reveal: ChainStepJson | null
  }>
  totals: { paid_wei: string; slashed_wei: string; refunded_wei: string }
  steps: {
    posted: ChainStepJson | null
    finalized: ChainStepJson | null
    cancelled: ChainStepJson | null
    refunds: Array<ChainStepJson & { amount_wei: string }>
  }
  verdict: { code: string; verified: boolean; reason: string }
  /** Blocks from the settling block to the head, both counted; null while the job is open. */
  confirmations: number | null
}

const stepJson = (s: ChainStep | null): ChainStepJson | null => (s ? { tx_hash: s.txHash, block_number: s.blockNumber.toString() } : null)

export function jobReportJson(report: VerifyJobReturnType): JobReportJson {
  return {
    chain_id: report.chainId,
    market: report.market,
    job_id: report.jobId.toString(),
    status: report.status,
    requester: report.requester,
    spec_hash: report.specHash,
    consensus_root: report.consensusRoot,
    replicas: report.replicas,
    quorum: report.quorum,
    reward_wei: report.reward.toString(),
    collateral_wei: report.collateral.toString(),
    slots: report.slots.map((s) => ({
      index: s.index,
      worker: s.worker,
      revealed_root: s.revealedRoot,
      outcome: s.outcome,
      paid_wei: s.paid.toString(),
      slashed_wei: s.slashed.toString(),
      commit: stepJson(s.commit),
      reveal: stepJson(s.reveal),
    })),
    totals: { paid_wei: report.totals.paid.toString(), slashed_wei: report.totals.slashed.toString(), refunded_wei: report.totals.refunded.toString() },
    steps: {
      posted: stepJson(report.steps.posted),
      finalized: stepJson(report.steps.finalized),
      cancelled: stepJson(report.steps.cancelled),
      refunds: report.steps.refunds.map((r) => ({ ...(stepJson(r) as ChainStepJson), amount_wei: r.amount.toString() })),
    },
    verdict: report.verdict,
    confirmations: report.confirmations,
  }
}
