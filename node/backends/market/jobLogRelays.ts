// The live output of the gateway's market jobs: once a worker fetches a job's bundle it is running
// the job, so the job shows as running and its log is followed (relayJobLog.ts) from that worker,
// else from the workers that committed. A relay that found no log is tried again 2 s later at the
// earliest; one that followed a log to its end is the last.
import type { PeerId } from '@libp2p/interface'
import type { Clock } from '../../clock/systemClock.ts'
import type { LogsService } from '../../p2p/index.ts'
import { isFinalState } from '../jobBackend.ts'
import type { GatewayChain } from './gatewayChain.ts'
import type { LiveMarketJob } from './liveMarketJob.ts'
import { relayJobLog } from './relayJobLog.ts'

export type JobLogRelaysParameters = {
  logs: Pick<LogsService, 'follow'>
  chain: Pick<GatewayChain, 'committerPeers'>
  clock: Clock
  /** The job's status changed (it runs now). */
  emit: (job: LiveMarketJob) => void
}

const retryAfterMs = 2000

export function jobLogRelays({ logs, chain, clock, emit }: JobLogRelaysParameters) {
  /** Follows the runner's log (else the committers'), unless a relay runs, is done, or waits to retry. */
  function start(job: LiveMarketJob): void {
    const chainJobId = job.record.verification.chainJobId
    if (job.relay || job.relayDone || job.deleted || chainJobId === null || isFinalState(job.record.state) || Date.now() < job.nextRelayAt) return
    const relay = new AbortController()
    job.relay = relay
    const peers = async (): Promise<PeerId[]> => {
      const committers = await chain.committerPeers(chainJobId).catch(() => [])
      const runner = job.runner ? [job.runner] : []
      return [...runner, ...committers.filter((peer) => !runner.some((r) => r.equals(peer)))]
    }
    void relayJobLog({ logs, chainJobId, peers, log: job.log, relayed: job.relayed, signal: relay.signal }).then((done) => {
      job.relayDone ||= done
      if (!done) job.nextRelayAt = Date.now() + retryAfterMs
      if (job.relay === relay) job.relay = null
    })
  }

  /** A worker fetched the job's bundle: it is about to run the job. */
  function bundleFetched(job: LiveMarketJob, from: PeerId): void {
    // Not on chain yet (held at the gateway): the fetch was for another job with the same bundle.
    if (isFinalState(job.record.state) || job.record.verification.chainJobId === null) return
    job.runner ??= from
    if (job.record.state === 'queued') {
      job.record.state = 'running'
      job.record.startedAt = clock.now()
      emit(job)
    }
    start(job)
  }

  return { start, bundleFetched }
}
