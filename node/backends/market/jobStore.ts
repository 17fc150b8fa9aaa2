// The market gateway's job table on disk: one directory per job under `<dataDir>/jobs/` holding
// job.json (ids, on-chain id, state), the spec document and bundle it serves to workers, and the
// verified result files by sha256. A restarted gateway reloads it and re-follows open jobs.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Manifest } from '../../../sandbox/types.ts'
import type { JobExecution, JobState, JobVerification } from '../jobBackend.ts'

export type StoredResultEntry = { name: string; sha256: string; size: number }

/** Everything the gateway must remember about a job to serve it after a restart. */
export type MarketJobRecord = {
  id: string
  state: JobState
  manifest: Manifest
  bundleSha256: string
  bundleSize: number
  environmentDigest: string
  rewardWei: string
  submittedAt: number
  startedAt: number | null
  finishedAt: number | null
  expiresAt: number
  /** Exit from the verified result's exit entry; usage is the median of the workers' signed reports (null when none came). */
  execution: JobExecution | null
  verification: JobVerification
  /** The verified result's entries (content in blobs/); null until verified. */
  result: StoredResultEntry[] | null
  error: string | null
}

export type JobStore = {
  loadAll(): Promise<MarketJobRecord[]>
  /** Writes job.json atomically (a crash leaves the old or the new version, never half of one). */
  save(record: MarketJobRecord): Promise<void>
  writeBlob(jobId: string, name: 'spec' | 'bundle' | `sha256-${string}`, bytes: Uint8Array): Promise<void>
  readBlob(jobId: string, name: 'spec' | 'bundle' | `sha256-${string}`): Promise<Buffer>
  blobPath(jobId: string, name: `sha256-${string}`): string
  remove(jobId: string): Promise<void>
}

const jobIdPattern = /^job-[0-9a-f]{32}$/

export async function openJobStore(dataDir: string): Promise<JobStore> {
  const root = path.join(path.resolve(dataDir), 'jobs')
  await mkdir(root, { recursive: true, mode: 0o700 })
  const dirOf = (jobId: string): string => {
    // Ids come from the URL; only our own format may become a path.
    if (!jobIdPattern.test(jobId)) throw new Error('invalid job id for the job store')
    return path.join(root, jobId)
  }
  const blobFile = (jobId: string, name: string): string => {
    if (!/^(spec|bundle|sha256-[0-9a-f]{64})$/.test(name)) throw new Error('invalid blob name')
    return path.join(dirOf(jobId), name)
  }
  return {
    async loadAll() {
      const records: MarketJobRecord[] = []
      for (const entry of await readdir(root)) {
        if (!jobIdPattern.test(entry)) continue
        const text = await readFile(path.join(root, entry, 'job.json'), 'utf8').catch(() => null)
        if (text === null) {
          // Submitted but never saved: nothing refers to it.
          await rm(path.join(root, entry), { recursive: true, force: true })
          continue
        }
        records.push(JSON.parse(text) as MarketJobRecord)
      }
      return records
    },
    async save(record) {
      const dir = dirOf(record.id)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const temporary = path.join(dir, `job.json.${process.pid}.tmp`)
      await writeFile(temporary, JSON.stringify(record), { mode: 0o600 })
      await rename(temporary, path.join(dir, 'job.json'))
    },
    async writeBlob(jobId, name, bytes) {
      await mkdir(dirOf(jobId), { recursive: true, mode: 0o700 })
      await writeFile(blobFile(jobId, name), bytes, { mode: 0o600 })
    },
    readBlob: (jobId, name) => readFile(blobFile(jobId, name)),
    blobPath: (jobId, name) => blobFile(jobId, name),
    async remove(jobId) {
      await rm(dirOf(jobId), { recursive: true, force: true })
    },
  }
}
