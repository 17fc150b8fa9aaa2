// The worker's per-job state on disk, so a restart can still reveal and serve what it committed:
//   <dataDir>/jobs/<jobId>/job.json             the record (phase, root, tx hashes), replaced atomically
//   <dataDir>/jobs/<jobId>/result/entries.json  the result entries (name, sha256, size)
//   <dataDir>/jobs/<jobId>/result/<entry name>  exit, stdout, stderr, outputs/<path>
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Address, Hash, Hex } from 'viem'
import type { JobResultPayload, ResultEntrySummary } from '../../p2p/resultService.ts'

/**
 * running: fetched and running, nothing committed (lost on a crash: nothing to recover).
 * sealed: result and root on disk, commit sent or about to be (a restart asks the chain which).
 * committed / revealed: on chain; the loop reveals and finalizes.
 * settled: the job left the Open state on chain; kept for the retention period.
 */
export type WorkerJobPhase = 'running' | 'sealed' | 'committed' | 'revealed' | 'settled'

export type WorkerJobRecord = {
  v: 1
  chainId: number
  market: Address
  /** On-chain job id, decimal. */
  jobId: string
  specHash: Hex
  /** The round the slot belongs to: 0 for the first committee, 1 for the escalation committee (absent in older records: 0). */
  round?: number
  phase: WorkerJobPhase
  /** The committed result root. */
  root: Hex | null
  /** True when a fault mode altered this result. */
  faulty: boolean
  commitTx: Hash | null
  revealTx: Hash | null
  finalizeTx: Hash | null
  /** The job's final on-chain status and this worker's slot outcome, once settled. */
  status: string | null
  outcome: string | null
  /** Local time (ms) of the last change; retention counts from the settlement. */
  updatedAt: number
  settledAt: number | null
}

/** The record of a result just computed, before its commit is sent. */
export function sealedRecord(p: Pick<WorkerJobRecord, 'chainId' | 'market' | 'jobId' | 'specHash' | 'round' | 'root' | 'faulty'>): WorkerJobRecord {
  return { v: 1, ...p, phase: 'sealed', commitTx: null, revealTx: null, finalizeTx: null, status: null, outcome: null, updatedAt: Date.now(), settledAt: null }
}

export type JobStore = {
  /** Creates the job's directory and returns where the sandbox writes output files. */
  prepare(jobId: string): Promise<{ outputDir: string }>
  save(record: WorkerJobRecord): Promise<void>
  /** Every readable record; directories without one (a crash while running) are listed as ids in `orphans`. */
  list(): Promise<{ records: WorkerJobRecord[]; orphans: string[] }>
  writeResultFiles(jobId: string, files: { entries: ResultEntrySummary[]; exit: Uint8Array; stdout: Uint8Array; stderr: Uint8Array }): Promise<void>
  readResult(jobId: string): Promise<JobResultPayload | undefined>
  remove(jobId: string): Promise<void>
}

const jobIdPattern = /^(0|[1-9][0-9]{0,77})$/

export function createJobStore({ dataDir }: { dataDir: string }): JobStore {
  const jobsDir = path.join(dataDir, 'jobs')
  const jobDir = (jobId: string): string => {
    // Ids come from the chain as decimals; anything else must never become a path.
    if (!jobIdPattern.test(jobId)) throw new Error(`job id ${JSON.stringify(jobId)} is not a decimal on-chain id`)
    return path.join(jobsDir, jobId)
  }
  const resultDir = (jobId: string): string => path.join(jobDir(jobId), 'result')

  return {
    async prepare(jobId) {
      await rm(jobDir(jobId), { recursive: true, force: true })
      const outputDir = path.join(resultDir(jobId), 'outputs')
      await mkdir(outputDir, { recursive: true, mode: 0o700 })
      return { outputDir }
    },
    async save(record) {
      const file = path.join(jobDir(record.jobId), 'job.json')
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
      await writeFile(`${file}.tmp`, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 })
      await rename(`${file}.tmp`, file)
    },
    async list() {
      const records: WorkerJobRecord[] = []
      const orphans: string[] = []
      let names: string[] = []
      try {
        names = await readdir(jobsDir)
      } catch {
        return { records, orphans }
      }
      for (const name of names.filter((n) => jobIdPattern.test(n))) {
        try {
          records.push(JSON.parse(await readFile(path.join(jobsDir, name, 'job.json'), 'utf8')) as WorkerJobRecord)
        } catch {
          orphans.push(name)
        }
      }
      return { records, orphans }
    },
    async writeResultFiles(jobId, { entries, exit, stdout, stderr }) {
      const dir = resultDir(jobId)
      await writeFile(path.join(dir, 'exit'), exit, { mode: 0o600 })
      await writeFile(path.join(dir, 'stdout'), stdout, { mode: 0o600 })
      await writeFile(path.join(dir, 'stderr'), stderr, { mode: 0o600 })
      await writeFile(path.join(dir, 'entries.json'), JSON.stringify(entries), { mode: 0o600 })
    },
    async readResult(jobId) {
      const dir = resultDir(jobId)
      try {
        const entries = JSON.parse(await readFile(path.join(dir, 'entries.json'), 'utf8')) as ResultEntrySummary[]
        // Entry names were checked by canonicalResultEntries (no '..', no absolute paths) before they were written.
        const files = await Promise.all(entries.map(async (entry) => ({ name: entry.name, content: new Uint8Array(await readFile(path.join(dir, entry.name))) })))
        return { entries, files }
      } catch {
        return undefined
      }
    },
    async remove(jobId) {
      await rm(jobDir(jobId), { recursive: true, force: true })
    },
  }
}
