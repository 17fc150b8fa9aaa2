// A worker's jobs after a restart: records on disk are checked against the chain (a sealed result
// whose commit never landed is dropped, one whose commit did is followed again to reveal its root;
// settled ones are dropped: their sealed results died with the old process's keys), and commits the
// chain knows of but the disk lost are reported, since nothing can reveal them any more.
import { isOpenStatus } from '../../chain/marketReader.ts'
import type { JobStore, WorkerJobRecord } from './jobStore.ts'
import type { WorkerChain } from './workerChain.ts'
import type { WorkerLog } from './workerLog.ts'

export type RecoverJobsParameters = {
  store: JobStore
  chain: Pick<WorkerChain, 'chainId' | 'market' | 'address' | 'getSlots' | 'getJob' | 'committedJobIds'>
  log: WorkerLog
  /** Where to scan for this worker's commits (the deployment block); no scan without it. */
  deployBlock?: bigint | undefined
}

/** The records to follow again (committed or revealed), saved back with their phase. */
export async function recoverJobs({ store, chain, log, deployBlock }: RecoverJobsParameters): Promise<WorkerJobRecord[]> {
  const { records: saved, orphans } = await store.list()
  for (const jobId of orphans) await store.remove(jobId)
  const recovered: WorkerJobRecord[] = []
  for (const record of saved) {
    if (record.chainId !== chain.chainId || record.market.toLowerCase() !== chain.market.toLowerCase()) continue
    // A settled job needs nothing more from this worker, and its result died with the old process's keys.
    if (record.phase === 'running' || record.phase === 'settled') {
      await store.remove(record.jobId)
      continue
    }
    if (record.phase === 'sealed') {
      // The commit may or may not have landed before the restart: the chain knows.
      const slots = await chain.getSlots(record.jobId)
      const committed = slots.some((slot) => slot.committed && slot.worker?.toLowerCase() === chain.address.toLowerCase())
      if (!committed) {
        await store.remove(record.jobId)
        log('uncommitted result discarded', { jobId: record.jobId })
        continue
      }
      Object.assign(record, { phase: 'committed', updatedAt: Date.now() })
      await store.save(record)
      log('commit recovered from chain; its result did not survive the restart', { jobId: record.jobId, root: record.root })
    }
    recovered.push(record)
  }
  const pending = recovered.filter((r) => r.phase === 'committed' || r.phase === 'revealed')
  log('worker state recovered', { jobs: recovered.length, pending: pending.map((r) => r.jobId) })
  if (deployBlock === undefined) return recovered
  const known = new Set(recovered.map((r) => r.jobId))
  for (const id of await chain.committedJobIds(deployBlock)) {
    if (known.has(id)) continue
    const job = await chain.getJob(id)
    if (isOpenStatus(job.status)) log('committed job has no local result; it cannot be revealed and its collateral will be slashed', { jobId: id })
  }
  return recovered
}
