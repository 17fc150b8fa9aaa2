// A market job while this gateway holds it: the job table's part (log, watchers, retention), the
// record that is served as its status, and what following it on chain and relaying its log need.
import type { PeerId } from '@libp2p/interface'
import { newTableJob, type TableJob } from '../jobTable/createJobTable.ts'
import type { MarketJobRecord } from './jobStore.ts'

export type LiveMarketJob = TableJob & {
  record: MarketJobRecord
  relay: AbortController | null
  /** A worker's log was followed to its end: no more relays. */
  relayDone: boolean
  /** Not before this (ms): a relay that found no log waits a little before the next try. */
  nextRelayAt: number
  /** Bytes of each stream relayed so far (a relay from another worker skips them). */
  relayed: { stdout: number; stderr: number }
  /** The first worker that fetched the bundle: it is running the job. */
  runner: PeerId | null
  /** When it was last announced (ms). */
  lastAnnounce: number
  /** A chain poll is following it now: the next poll leaves it alone. */
  following: boolean
  /** When the first attempt to fetch its agreed result began (ms), null before the job settled deep enough. */
  firstSettleAttempt: number | null
}

export function newLiveMarketJob({ record, clientId, captureBytes }: { record: MarketJobRecord; clientId: string; captureBytes: number }): LiveMarketJob {
  return {
    ...newTableJob({ id: record.id, clientId, captureBytes }),
    record,
    relay: null,
    relayDone: false,
    nextRelayAt: 0,
    relayed: { stdout: 0, stderr: 0 },
    runner: null,
    lastAnnounce: 0,
    following: false,
    firstSettleAttempt: null,
  }
}
