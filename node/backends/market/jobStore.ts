// The market gateway's job files: each job's spec document, bundle and verified result files,
// sealed at rest under keys that live only in this process (node/storage/openSealedStore.ts), in
// `<dataDir>/jobs/`. File and directory names on disk are random: neither job ids (capabilities)
// nor content hashes (a short output's hash gives it away) appear there. The job table itself is
// in memory; a restarted gateway has nothing of its earlier jobs (openJobLedger.ts keeps the chain ids).
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { Manifest } from '../../../sandbox/index.ts'
import type { GatewayJobId } from '../../../verifier/index.ts'
import { openSealedStore } from '../../storage/openSealedStore.ts'
import type { JobExecution, JobState, JobVerification } from '../jobBackend.ts'

export type StoredResultEntry = { name: string; sha256: string; size: number }

/** What the gateway knows about a job while it holds it (in memory only). */
export type MarketJobRecord = {
  id: GatewayJobId
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
  /** The verified result's entries (content in the store); null until verified. */
  result: StoredResultEntry[] | null
  error: string | null
}

export type BlobName = 'spec' | 'bundle' | `sha256-${string}`

export type JobStore = {
  writeBlob(jobId: GatewayJobId, name: BlobName, bytes: Uint8Array): Promise<void>
  readBlob(jobId: GatewayJobId, name: BlobName): Promise<Buffer>
  openBlob(jobId: GatewayJobId, name: BlobName): Readable
  /** Removes the job's files and forgets their keys. */
  remove(jobId: GatewayJobId): Promise<void>
}

const jobIdPattern = /^job-[0-9a-f]{32}$/
const blobNamePattern = /^(spec|bundle|sha256-[0-9a-f]{64})$/

const opaqueName = (): string => randomBytes(12).toString('hex')

export async function openJobStore(dataDir: string): Promise<JobStore> {
  const sealed = await openSealedStore({ root: path.join(path.resolve(dataDir), 'jobs') })
  // job id -> its directory's name, and blob name -> file name, both random and in memory only.
  const jobs = new Map<GatewayJobId, { dir: string; files: Map<string, string> }>()

  const fileOf = (jobId: GatewayJobId, name: BlobName, create: boolean): string => {
    // Ids come from the URL; only our own formats are looked up.
    if (!jobIdPattern.test(jobId) || !blobNamePattern.test(name)) throw new Error('invalid job id or blob name for the job store')
    let entry = jobs.get(jobId)
    if (!entry && create) jobs.set(jobId, (entry = { dir: opaqueName(), files: new Map() }))
    let file = entry?.files.get(name)
    if (entry && !file && create) entry.files.set(name, (file = opaqueName()))
    if (!entry || !file) throw new Error('no such file for this job')
    return `${entry.dir}/${file}`
  }

  return {
    writeBlob: (jobId, name, bytes) => sealed.write(fileOf(jobId, name, true), bytes),
    readBlob: async (jobId, name) => sealed.read(fileOf(jobId, name, false)),
    openBlob: (jobId, name) => sealed.open(fileOf(jobId, name, false)),
    async remove(jobId) {
      const entry = jobs.get(jobId)
      if (!entry) return
      jobs.delete(jobId)
      await sealed.remove(`${entry.dir}/`)
    },
  }
}
