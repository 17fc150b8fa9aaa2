// A market job's live output: follows the log of a worker that runs it (the first to fetch the
// bundle, else those that committed) and feeds the gateway's JobLog, so /logs/:id/stream, `sandrun
// run` and the page show each line as it is printed. When a worker's stream breaks, the next one is
// followed and its replay is skipped up to what was already shown; lost bytes become a `gap` note.
import type { PeerId } from '@libp2p/interface'
import type { LogsService } from '../../p2p/index.ts'
import type { ChainJobId } from '../../../verifier/index.ts'
import type { JobLog } from '../jobTable/jobLog.ts'

export type RelayJobLogParameters = {
  logs: Pick<LogsService, 'follow'>
  /** The on-chain job id (decimal): the id workers keep logs under. */
  chainJobId: ChainJobId
  /** Workers to follow, best first; read once per relay. */
  peers: () => Promise<PeerId[]>
  log: JobLog
  /** Bytes of each stream already in `log` from an earlier relay of this job (updated here). */
  relayed: { stdout: number; stderr: number }
  signal: AbortSignal
}

/** True once one worker's log was followed to its end; false when none could be (try again later). */
export async function relayJobLog({ logs, chainJobId, peers, log, relayed, signal }: RelayJobLogParameters): Promise<boolean> {
  for (const peer of await peers().catch(() => [])) {
    if (signal.aborted) return false
    const seen = { stdout: 0, stderr: 0 }
    let lost = false
    try {
      for await (const event of logs.follow({ peer, jobId: chainJobId, signal })) {
        if (event.type === 'chunk') {
          const start = seen[event.stream]
          seen[event.stream] += event.data.byteLength
          // After a gap offsets are unknown: show everything rather than guess.
          const skip = lost ? 0 : Math.max(0, relayed[event.stream] - start)
          if (skip < event.data.byteLength) log.append(event.stream, Buffer.from(event.data.subarray(skip)))
          relayed[event.stream] = Math.max(relayed[event.stream], seen[event.stream])
        } else if (event.type === 'gap') {
          lost = true
          log.markGap(event.droppedBytes)
        } else {
          if (event.status.stdout_truncated === true) log.markTruncated('stdout')
          if (event.status.stderr_truncated === true) log.markTruncated('stderr')
          return true
        }
      }
    } catch {
      // This worker's log is gone (or it never had one): try the next.
    }
  }
  return false
}
