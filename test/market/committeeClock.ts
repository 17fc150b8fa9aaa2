// The clock of a repeatable market test: chain time moves only here, one eligibility event at a
// time, and only once every worker that may commit at the current time has done so (the
// committees are computed with the contract's own eligibility rules, node/chain/eligibility). So
// no worker is ever faster than another, and the committees drawn from the posted jobs' seeds are
// the same on every run. A tie (two workers of different sides first drawn in the same second for
// the last slots) would let process speed decide; it is reported, never silently resolved.
import type { Address, PublicClient } from 'viem'
import { eligibilityTicket, eligibleFrom, roundSeed, seedBlockFor } from '../../node/chain/eligibility/index.ts'
import { isOpenStatus, type MarketReader } from '../../node/chain/marketReader.ts'
import type { ChainJobId } from '../../verifier/index.ts'

export type ClockWorker = { address: Address; liar: boolean }

export type RunCommitteeClockParameters = {
  reader: MarketReader
  publicClient: PublicClient
  jobIds: ChainJobId[]
  workers: ClockWorker[]
  /** Mines a block at `timestamp`. */
  setTime(timestamp: number): Promise<void>
  /** Called with progress lines (job counts by state). */
  progress?: (line: string) => void
  /** Give up after this long (ms) without the chain reaching what the workers must do. */
  stallMs?: number
}

export type RunCommitteeClockReturnType = {
  /** Jobs where a tie between a liar and an honest worker decided whether the liars held every first-round slot. */
  ambiguous: bigint[]
}

const gwei = 10n ** 9n

export async function runCommitteeClock(p: RunCommitteeClockParameters): Promise<RunCommitteeClockReturnType> {
  const ambiguous = new Set<bigint>()
  const hashes = new Map<bigint, `0x${string}`>()
  const blockHash = async (n: bigint) => hashes.get(n) ?? (hashes.set(n, (await p.publicClient.getBlock({ blockNumber: n })).hash), hashes.get(n)!)
  const startedAt = Date.now()
  let lastProgress = startedAt
  let lastState = ''
  /** Per job, the workers the clock expects to commit at the current time (for a stall report). */
  let waitingFor: Record<string, string[]> = {}
  for (;;) {
    const [block, totals, accounts, jobs] = await Promise.all([
      p.publicClient.getBlock(),
      p.reader.getTotals(),
      Promise.all(p.workers.map((w) => p.reader.getAccount(w.address))),
      Promise.all(p.jobIds.map((id) => p.reader.getJob(id))),
    ])
    const now = Number(block.timestamp)
    const open = jobs.filter((job) => isOpenStatus(job.status))
    const state = JSON.stringify(jobs.map((j) => [j.status, j.committed, j.revealed]))
    if (state !== lastState) {
      lastState = state
      lastProgress = Date.now()
      const counts = jobs.reduce<Record<string, number>>((acc, j) => ({ ...acc, [j.status]: (acc[j.status] ?? 0) + 1 }), {})
      p.progress?.(`chain t=${now}, ${((Date.now() - startedAt) / 1000).toFixed(0)} s: ${JSON.stringify(counts)}`)
    }
    if (open.length === 0) return { ambiguous: [...ambiguous] }
    if (Date.now() - lastProgress > (p.stallMs ?? 120_000)) throw new Error(`the market stalled at t=${now}: ${state}; waiting for ${JSON.stringify(waitingFor)}`)
    waitingFor = {}
    let quiet = true
    let next = Number.POSITIVE_INFINITY
    for (const job of open) {
      const slots = await p.reader.getSlots(job.jobId)
      const holders = new Set(slots.filter((s) => s.worker).map((s) => s.worker!.toLowerCase()))
      const commitsClosed = job.committed >= job.roundSlots || now > job.commitDeadline
      if (commitsClosed) {
        // Every committed worker reveals; the last reveal closes the round.
        if (job.revealed < job.committed || job.committed === 0) quiet = false
        continue
      }
      const seed = await roundSeed({ stored: job.seed, blockHash: () => blockHash(seedBlockFor(job.seedBlock, block.number + 1n)) })
      const starts = p.workers
        .map((w, i) => ({ w, i }))
        .filter(({ w }) => !holders.has(w.address.toLowerCase()))
        .map(({ w, i }) => {
          const from = eligibleFrom({
            ticket: eligibilityTicket({ seed, jobId: job.jobId, worker: w.address }),
            weightGwei: accounts[i]!.stakeBlock >= job.seedBlock ? 0n : accounts[i]!.staked / gwei,
            totalGwei: totals.totalStaked / gwei,
            slots: job.roundSlots,
            window: job.commitDeadline - job.roundStart,
          })
          return { w, at: from === null ? null : job.roundStart + from }
        })
      const due = starts.filter((s) => s.at !== null && s.at <= now)
      const free = job.roundSlots - job.committed
      if (due.length > 0) {
        quiet = false
        waitingFor[job.jobId.toString()] = due.map((d) => `${d.w.address}@${d.at}`)
        if (job.round === 0 && due.length > free) {
          const held = slots.filter((s) => s.worker).map((s) => p.workers.find((w) => w.address.toLowerCase() === s.worker!.toLowerCase())!)
          const liarsDue = due.filter((s) => s.w.liar).length
          if (held.every((w) => w.liar) && liarsDue >= free && liarsDue < due.length) ambiguous.add(job.jobId)
        }
        continue
      }
      const later = starts.filter((s) => s.at !== null && s.at > now).map((s) => s.at!)
      // Nobody left to draw in this round: its commit window has to run out for reveals to open.
      next = Math.min(next, later.length > 0 ? Math.min(...later) : job.commitDeadline + 1)
    }
    if (!quiet || next === Number.POSITIVE_INFINITY) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      continue
    }
    await p.setTime(next)
  }
}
