// A job the chain settled: what the gateway records of it. The settlement's facts (state, root,
// who agreed, dissented or was slashed, every transaction), then, for an agreed result, the result
// fetched from an agreeing worker and checked byte for byte against the on-chain root (stored
// sealed), the workers' execution reports, and the final log. An unsettled or failed round says why.
import type { PeerId } from '@libp2p/interface'
import type { Address } from 'viem'
import type { Deployment } from '../../chain/deployment.ts'
import type { MarketClient } from '../../chain/marketClient.ts'
import type { MarketJob } from '../../chain/marketReader.ts'
import type { ResultService } from '../../p2p/index.ts'
import { resultClaimMessage } from '../../market/resultClaim.ts'
import { parseExitEntry } from '../../../verifier/index.ts'
import { errorCodeOf } from '../../../errors/index.ts'
import type { JobLog } from '../jobTable/jobLog.ts'
import { collectExecutionReports } from './collectExecutionReports.ts'
import { fetchVerifiedResult } from './fetchVerifiedResult.ts'
import type { JobStore, MarketJobRecord } from './jobStore.ts'
import { settlementConfirmations } from './settlementConfirmations.ts'
import { summarizeExecutionReports } from './summarizeExecutionReports.ts'

export type SettleMarketJobParameters = {
  /** The job's record: its verification, result and execution are filled in here. */
  record: MarketJobRecord
  jobLog: JobLog
  chainJob: MarketJob
  market: MarketClient
  deployment: Deployment
  results: ResultService
  store: JobStore
  peerOf: (address: string) => Promise<PeerId | null>
  /** A worker served a result that does not match the chain: no more dealings with it. */
  denyPeer: (peerId: string) => void
  resultFetchTimeoutMs: number
  reportFetchTimeoutMs: number
  outputCaptureBytes: number
  log: (message: string, context: Record<string, unknown>) => void
}

/** The job's final state; throws while no agreeing worker served a result that matches (retry later). */
export async function settleMarketJob({
  record: r,
  jobLog,
  chainJob,
  market,
  deployment,
  results,
  store,
  peerOf,
  denyPeer,
  resultFetchTimeoutMs,
  reportFetchTimeoutMs,
  outputCaptureBytes,
  log,
}: SettleMarketJobParameters): Promise<{ state: 'completed' | 'failed'; error: string | null }> {
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
    return { state: 'failed', error: reason }
  }
  const candidates = []
  for (const address of v.agreeing) {
    // A lookup the chain did not answer skips the worker this time, and says so: the result still
    // comes from another agreeing worker, but whatever that worker would have served goes unchecked.
    const peer = await peerOf(address).catch((error: unknown) => {
      log('worker peer lookup failed', { worker: address, code: errorCodeOf(error) ?? 'UNKNOWN' })
      return null
    })
    if (peer) candidates.push({ address, peer })
  }
  const verified = await fetchVerifiedResult({
    results,
    chainJobId: id,
    root: chainJob.consensusRoot,
    candidates,
    timeoutMs: resultFetchTimeoutMs,
    claimFor: async (address) =>
      market.account?.signMessage?.({ message: resultClaimMessage({ chainId: deployment.chainId, market: deployment.market, jobId: id, worker: address as Address }) }),
    onRejected: (candidate, reason, lied) => {
      // A lie's reason names result files (job content): only the worker is logged then.
      if (lied) log('worker served a result that does not match the chain', { worker: candidate.address })
      else log('result fetch failed', { worker: candidate.address, reason: reason.slice(0, 200) })
      if (lied) denyPeer(candidate.peer.toString())
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
    chainJobId: id,
    revealers: await Promise.all(
      slots.filter((s) => s.worker !== null && s.revealedRoot !== null).map(async (s) => ({ address: s.worker!.toLowerCase(), root: s.revealedRoot!, peer: await peerOf(s.worker!).catch(() => null) })),
    ),
    known: new Map(verified.payload.execution === undefined ? [] : [[verified.address, verified.payload.execution]]),
    timeoutMs: reportFetchTimeoutMs,
  })
  const usage = summarizeExecutionReports(v.executions, chainJob.consensusRoot)
  // Without reports, a stream that filled the cap is the only sign it was cut.
  const stdoutTruncated = usage?.stdoutTruncated ?? text('stdout').length >= outputCaptureBytes
  const stderrTruncated = usage?.stderrTruncated ?? text('stderr').length >= outputCaptureBytes
  jobLog.settle(text('stdout'), text('stderr'), stdoutTruncated, stderrTruncated)
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
  return { state: termination === 'exited' && exitCode === 0 ? 'completed' : 'failed', error: null }
}
