// The live half of JobBackend.watch, shared by the backends that keep a job's output in a JobLog:
// the replay so far plus a subscription that ends itself once the job reaches a final state.
import { isFinalState, type JobEvent, type JobStatus, type WatchJobReturnType } from '../jobBackend.ts'
import type { JobLog } from './jobLog.ts'

export type WatchJobLogParameters = {
  log: JobLog
  /** The job's status listeners; the watcher joins them until unsubscribed. */
  watchers: Set<(event: JobEvent) => void>
  status: JobStatus
  listener: (event: JobEvent) => void
}

export function watchJobLog({ log, watchers, status, listener }: WatchJobLogParameters): WatchJobReturnType {
  if (isFinalState(status.status)) return { replay: log.replay(), status, unsubscribe: () => undefined }
  const unsubscribeLog = log.subscribe(listener)
  const watcher = (event: JobEvent): void => {
    listener(event)
    if (event.type === 'status' && isFinalState(event.status.status)) unsubscribeLog()
  }
  watchers.add(watcher)
  return {
    replay: log.replay(),
    status,
    unsubscribe: () => {
      unsubscribeLog()
      watchers.delete(watcher)
    },
  }
}
