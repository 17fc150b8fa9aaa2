// The log of a job this worker ran, rebuilt from its stored result (after a restart, or for a
// watcher that comes once the live feed is gone): stdout, stderr, then the exit status.
import { LogFeed } from '../../p2p/logFeed.ts'
import { type ChainJobId, parseExitEntry } from '../../../verifier/index.ts'
import type { JobStore } from './jobStore.ts'

export async function replayLogFeed(store: Pick<JobStore, 'readResult'>, jobId: ChainJobId): Promise<LogFeed> {
  const feed = new LogFeed()
  const result = await store.readResult(jobId)
  const file = (name: string): Uint8Array | undefined => result?.files.find((f) => f.name === name)?.content
  if (file('stdout')) feed.append('stdout', file('stdout')!)
  if (file('stderr')) feed.append('stderr', file('stderr')!)
  const { exitCode, termination } = parseExitEntry(file('exit') ?? '')
  feed.end({ state: 'completed', exit_code: exitCode, termination: termination || null })
  return feed
}
