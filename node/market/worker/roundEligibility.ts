// When this worker may commit to the current round of a job, computed off chain exactly as the
// contract checks it (node/chain/eligibility), so a worker that is not drawn never runs the job.
import type { Hex } from 'viem'
import { commitDelay, eligibilityRules, eligibilityTicket, eligibleFrom, roundSeed, seedBlockFor } from '../../chain/eligibility/index.ts'
import type { MarketAccount, MarketJob, MarketTotals } from '../../chain/marketReader.ts'
import type { WorkerChain } from './workerChain.ts'

export type RoundEligibility =
  /** The seed block is still the latest block: nothing is drawn yet. */
  | { drawn: false; reason: 'seed not ready' }
  /** Never within this round's commit window (ticket too high, or stake younger than the seed). */
  | { drawn: false; reason: 'not drawn' }
  | {
      drawn: true
      /** Chain time from which the contract accepts this worker's commit. */
      commitFrom: number
      /** Chain time at which the threshold crossed the ticket: commitFrom less the commit delay. */
      drawnAt: number
      /** Expected number of workers drawn before this one (E(t) of MarketEligibility, uncapped). */
      drawnBefore: number
    }

export type RoundEligibilityParameters = {
  job: Pick<MarketJob, 'jobId' | 'roundStart' | 'commitDeadline' | 'roundSlots' | 'seedBlock' | 'seed'>
  account: Pick<MarketAccount, 'staked' | 'stakeBlock'>
  totals: Pick<MarketTotals, 'totalStaked'>
  worker: WorkerChain['address']
  /** The block the commit would land in. */
  nextBlock: bigint
  blockHash: (number: bigint) => Promise<Hex>
}

const gwei = 10n ** 9n

export async function roundEligibility({ job, account, totals, worker, nextBlock, blockHash }: RoundEligibilityParameters): Promise<RoundEligibility> {
  if (nextBlock <= job.seedBlock) return { drawn: false, reason: 'seed not ready' }
  const seed = await roundSeed({ stored: job.seed, blockHash: () => blockHash(seedBlockFor(job.seedBlock, nextBlock)) })
  const window = job.commitDeadline - job.roundStart
  const from = eligibleFrom({
    ticket: eligibilityTicket({ seed, jobId: job.jobId, worker }),
    weightGwei: account.stakeBlock >= job.seedBlock ? 0n : account.staked / gwei,
    totalGwei: totals.totalStaked / gwei,
    slots: job.roundSlots,
    window,
  })
  if (from === null) return { drawn: false, reason: 'not drawn' }
  const delay = commitDelay(window)
  const doublings = ((from - delay) * Number(eligibilityRules.doublingsPerWindow)) / window
  const drawnBefore = (Number(eligibilityRules.initialNumerator) / Number(eligibilityRules.initialDenominator)) * job.roundSlots * 2 ** doublings
  return { drawn: true, commitFrom: job.roundStart + from, drawnAt: job.roundStart + from - delay, drawnBefore }
}
