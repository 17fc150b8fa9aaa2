// What a worker operator wants to know about their account (`sandrun worker status`): stake, what
// of it is locked as collateral or unbonding, the balance waiting to be withdrawn, and the jobs this
// address took part in, won or lost, with what they earned. Read from the chain only.
import type { Address } from 'viem'
import { pageLogs } from '../../../verifier/chain/index.ts'
import { chainJobId } from '../../../verifier/index.ts'
import { sandrunMarketAbi } from '../../../contracts/abi.ts'
import type { MarketReader } from '../../chain/marketReader.ts'

export type WorkerAccountReport = {
  address: Address
  stakedWei: bigint
  lockedWei: bigint
  freeWei: bigint
  unbondingWei: bigint
  /** Unix time (s) the unbonding stake can be withdrawn; 0 when nothing is unbonding. */
  unbondingEnd: number
  /** Credited and not yet withdrawn (rewards, refunds, released collateral). */
  balanceWei: bigint
  jobs: { won: number; lost: number; slashed: number; open: number }
  /** Sum of the rewards of the won slots. */
  earnedWei: bigint
  withdrawnWei: bigint
}

export async function workerAccountReport(reader: MarketReader, { address, fromBlock }: { address: Address; fromBlock: bigint }): Promise<WorkerAccountReport> {
  const contract = { address: reader.address, abi: sandrunMarketAbi } as const
  const { publicClient } = reader
  const toBlock = await publicClient.getBlockNumber()
  // The account's whole history: paged from the deployment block (public RPCs refuse one long range).
  const [account, commits, withdrawals] = await Promise.all([
    reader.getAccount(address),
    pageLogs({ fromBlock, toBlock, read: (range) => publicClient.getContractEvents({ ...contract, eventName: 'SlotCommitted', args: { worker: address }, ...range }) }),
    pageLogs({ fromBlock, toBlock, read: (range) => publicClient.getContractEvents({ ...contract, eventName: 'Withdrawn', args: { account: address }, ...range }) }),
  ])
  const jobs = { won: 0, lost: 0, slashed: 0, open: 0 }
  let earnedWei = 0n
  const seen = new Set<bigint>()
  for (const commit of commits) {
    const jobId = chainJobId(commit.args.jobId!)
    if (seen.has(jobId)) continue
    seen.add(jobId)
    // The commit lies between the job's post and its settlement: its events are read around it.
    const [slots, events] = await Promise.all([reader.getSlots(jobId), reader.getJobEvents(jobId, { fromBlock, anchorBlock: commit.blockNumber })])
    const mine = slots.find((s) => s.worker?.toLowerCase() === address.toLowerCase())
    if (!mine) continue
    if (mine.outcome === 'Won') {
      jobs.won++
      const finalized = events.find((e) => e.eventName === 'JobFinalized')
      earnedWei += (finalized?.args.payout as bigint | undefined) ?? 0n
    } else if (mine.outcome === 'Dissented' || mine.outcome === 'NotRevealed') jobs.lost++
    else if (mine.outcome === 'Committed' || mine.outcome === 'Revealed') jobs.open++
    if (mine.slashed) jobs.slashed++
  }
  return {
    address,
    stakedWei: account.staked,
    lockedWei: account.locked,
    freeWei: account.free,
    unbondingWei: account.unbonding,
    unbondingEnd: account.unbondingEnd,
    balanceWei: account.balance,
    jobs,
    earnedWei,
    withdrawnWei: withdrawals.reduce((sum, w) => sum + (w.args.amount ?? 0n), 0n),
  }
}
