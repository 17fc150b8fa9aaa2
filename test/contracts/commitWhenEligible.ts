// Test helper: commit for a worker the way a real worker would, at the chain time its stake's
// ticket becomes eligible for the job's current round (computed with node/chain/eligibility, the
// contract's own rules), moving anvil's clock there instead of sleeping.
import type { Hex, PublicClient, TestClient } from 'viem'
import { eligibilityTicket, eligibleFrom, roundSeed, seedBlockFor } from '../../node/chain/eligibility/index.ts'
import type { MarketClient } from '../../node/chain/marketClient.ts'
import type { ChainJobId } from '../../verifier/index.ts'

/** Chain time from which `client` may commit to the job's current round (null: never in this window). */
export async function commitFrom(publicClient: PublicClient, client: MarketClient, jobId: ChainJobId): Promise<number | null> {
  const worker = client.account!.address
  const [job, account, totals, latest] = await Promise.all([client.getJob(jobId), client.getAccount(worker), client.getTotals(), publicClient.getBlockNumber()])
  // Anvil mines every transaction in a block of its own: the commit lands in the next one.
  const seed = await roundSeed({ stored: job.seed, blockHash: async () => (await publicClient.getBlock({ blockNumber: seedBlockFor(job.seedBlock, latest + 1n) })).hash })
  const from = eligibleFrom({
    ticket: eligibilityTicket({ seed, jobId, worker }),
    weightGwei: account.stakeBlock >= job.seedBlock ? 0n : account.staked / 10n ** 9n,
    totalGwei: totals.totalStaked / 10n ** 9n,
    slots: job.roundSlots,
    window: job.commitDeadline - job.roundStart,
  })
  return from === null ? null : job.roundStart + from
}

export type CommitWhenEligibleParameters = { publicClient: PublicClient; testClient: TestClient; client: MarketClient; jobId: ChainJobId; resultRoot: Hex; salt?: Hex }

/** Moves chain time to when `client` is drawn for the job's current round (if it is not yet), then commits. */
export async function commitWhenEligible({ publicClient, testClient, client, ...commit }: CommitWhenEligibleParameters): ReturnType<MarketClient['commit']> {
  const from = await commitFrom(publicClient, client, commit.jobId)
  if (from === null) throw new Error(`${client.account!.address} is not drawn for job ${commit.jobId} in this round; let another worker commit`)
  const latest = await publicClient.getBlock()
  if (Number(latest.timestamp) < from) await testClient.setNextBlockTimestamp({ timestamp: BigInt(from) })
  return client.commit(commit)
}
