// The worker's per-job state. In clear on disk, only what a restart needs to keep its commitments:
//   <dataDir>/jobs/<jobId>/job.json   phase, committed root, tx hashes, settlement (chain facts)
// Job content never rests there in clear: the sandbox copies output files to a directory on tmpfs
// (the scratch storage), and the result (entry list, exit, stdout, stderr, outputs) is sealed into
//   <dataDir>/sealed/<jobId>/<n>      under keys held only in this process (openSealedStore.ts)
// with numbered file names, so not even output names show. A restart finds the sealed files
// unreadable and removes them; the commitment records let it reveal and finalize all the same.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Address, Hash, Hex } from 'viem'
import { type ChainJobId, chainJobId, parseSpecHash, type SpecHash } from '../../../verifier/index.ts'
import type { JobResultPayload, ResultEntrySummary } from '../../p2p/resultService.ts'
import { openSealedStore } from '../../storage/openSealedStore.ts'
import type { Storage } from '../../storage/openStorage.ts'

/**
 * running: fetched and running, nothing committed (lost on a crash: nothing to recover).
 * sealed: result and root kept, commit sent or about to be (a restart asks the chain which).
 * committed / revealed: on chain; the loop reveals and finalizes.
 * settled: the job left the Open state on chain; its result is kept until served or the result window passed.
 */
export type WorkerJobPhase = 'running' | 'sealed' | 'committed' | 'revealed' | 'settled'

/** Chain facts and this worker's progress: nothing of the job's content (the root is revealed on chain anyway). */
export type WorkerJobRecord = {
  v: 1
  chainId: number
  market: Address
  /** On-chain job id (decimal in job.json). */
  jobId: ChainJobId
  specHash: SpecHash
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

/** A record as job.json holds it: the ids in their decimal and hex spellings. */
type StoredWorkerJobRecord = Omit<WorkerJobRecord, 'jobId' | 'specHash'> & { jobId: string; specHash: string }

export type JobStore = {
  /** A fresh directory on tmpfs where the sandbox copies the job's output files. */
  prepare(jobId: ChainJobId): Promise<{ outputDir: string }>
  /** Writes job.json atomically; saves of one job land in call order, however they overlap. */
  save(record: WorkerJobRecord): Promise<void>
  /** Every readable record; directories without one (a crash while running) are listed as ids in `orphans`. */
  list(): Promise<{ records: WorkerJobRecord[]; orphans: ChainJobId[] }>
  /** Seals the result (outputs read from the prepared directory, which is then removed). */
  writeResultFiles(jobId: ChainJobId, files: { entries: ResultEntrySummary[]; exit: Uint8Array; stdout: Uint8Array; stderr: Uint8Array }): Promise<void>
  /** The sealed result; undefined when there is none in this process (never sealed, removed, or sealed before a restart). */
  readResult(jobId: ChainJobId): Promise<JobResultPayload | undefined>
  /** Removes the result and the output directory; the record stays (a commitment may still need it). */
  removeResult(jobId: ChainJobId): Promise<void>
  /** Removes everything of the job. */
  remove(jobId: ChainJobId): Promise<void>
  /** A stopping worker: sealed results go (their keys die with it); commitment records stay. */
  close(): Promise<void>
}

export type CreateJobStoreParameters = {
  dataDir: string
  /** RAM-backed directories for outputs on their way from the sandbox to the sealed store. */
  scratch: Storage
}

const jobIdPattern = /^(0|[1-9][0-9]{0,77})$/

export async function createJobStore({ dataDir, scratch }: CreateJobStoreParameters): Promise<JobStore> {
  const jobsDir = path.join(dataDir, 'jobs')
  const sealed = await openSealedStore({ root: path.join(dataDir, 'sealed') })
  const outputDirs = new Map<ChainJobId, string>()
  // A chain id is a decimal integer, so it is safe as a directory name.
  const jobDir = (jobId: ChainJobId): string => path.join(jobsDir, jobId.toString())
  const sealedName = (jobId: ChainJobId, file: string): string => `${jobId}/${file}`
  const removeOutputDir = async (jobId: ChainJobId): Promise<void> => {
    const dir = outputDirs.get(jobId)
    outputDirs.delete(jobId)
    if (dir) await scratch.removeJobDir(dir)
  }
  const removeResult = async (jobId: ChainJobId): Promise<void> => {
    await removeOutputDir(jobId)
    await sealed.remove(sealedName(jobId, ''))
  }
  // A job's saves and removal run one at a time, in call order. The worker saves one record from
  // two places at once (the commit's follow-up and the poll loop's reveal): two saves sharing
  // job.json.tmp had one rename find the file already moved (ENOENT), and the worker dropped a
  // job it had committed and revealed; an older save could also land last and leave stale state.
  const queues = new Map<ChainJobId, Promise<void>>()
  const inTurn = (jobId: ChainJobId, work: () => Promise<void>): Promise<void> => {
    const done = (queues.get(jobId) ?? Promise.resolve()).then(work)
    const settled = done.catch(() => undefined)
    queues.set(jobId, settled)
    void settled.then(() => {
      if (queues.get(jobId) === settled) queues.delete(jobId)
    })
    return done
  }

  return {
    async prepare(jobId) {
      await removeResult(jobId)
      const outputDir = scratch.createJobDir()
      outputDirs.set(jobId, outputDir)
      return { outputDir }
    },
    async save(record) {
      const file = path.join(jobDir(record.jobId), 'job.json')
      // The record as it is now: the caller may change the object while an earlier save runs.
      const text = JSON.stringify({ ...record, jobId: record.jobId.toString() }, null, 2) + '\n'
      return inTurn(record.jobId, async () => {
        await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
        await writeFile(`${file}.tmp`, text, { mode: 0o600 })
        await rename(`${file}.tmp`, file)
      })
    },
    async list() {
      const records: WorkerJobRecord[] = []
      const orphans: ChainJobId[] = []
      let names: string[] = []
      try {
        names = await readdir(jobsDir)
      } catch {
        return { records, orphans }
      }
      for (const name of names.filter((n) => jobIdPattern.test(n))) {
        let jobId: ChainJobId
        try {
          jobId = chainJobId(name)
        } catch {
          continue
        }
        // Only job.json belongs here; anything else (results in clear from an earlier version) goes.
        for (const other of (await readdir(path.join(jobsDir, name)).catch(() => [])).filter((entry) => entry !== 'job.json')) {
          await rm(path.join(jobsDir, name, other), { recursive: true, force: true })
        }
        try {
          const stored = JSON.parse(await readFile(path.join(jobsDir, name, 'job.json'), 'utf8')) as StoredWorkerJobRecord
          records.push({ ...stored, jobId: chainJobId(stored.jobId), specHash: parseSpecHash(stored.specHash) })
        } catch {
          orphans.push(jobId)
        }
      }
      return { records, orphans }
    },
    async writeResultFiles(jobId, { entries, exit, stdout, stderr }) {
      const outputDir = outputDirs.get(jobId)
      const named = new Map<string, Uint8Array>([
        ['exit', exit],
        ['stdout', stdout],
        ['stderr', stderr],
      ])
      await sealed.write(sealedName(jobId, 'entries'), Buffer.from(JSON.stringify(entries)))
      for (const [index, entry] of entries.entries()) {
        // Entry names were checked by canonicalResultEntries (no '..', no absolute paths); outputs sit at `outputDir/<path>`.
        const content = named.get(entry.name) ?? (outputDir && entry.name.startsWith('outputs/') ? await readFile(path.join(outputDir, entry.name.slice('outputs/'.length))) : undefined)
        if (content === undefined) throw new Error(`result entry ${index} has no content`)
        await sealed.write(sealedName(jobId, String(index)), content)
      }
      await removeOutputDir(jobId)
    },
    async readResult(jobId) {
      if (!sealed.has(sealedName(jobId, 'entries'))) return undefined
      try {
        const entries = JSON.parse((await sealed.read(sealedName(jobId, 'entries'))).toString('utf8')) as ResultEntrySummary[]
        const files = await Promise.all(entries.map(async (entry, index) => ({ name: entry.name, content: new Uint8Array(await sealed.read(sealedName(jobId, String(index)))) })))
        return { entries, files }
      } catch {
        return undefined
      }
    },
    removeResult,
    async remove(jobId) {
      return inTurn(jobId, async () => {
        await removeResult(jobId)
        await rm(jobDir(jobId), { recursive: true, force: true })
      })
    },
    async close() {
      for (const jobId of [...outputDirs.keys()]) await removeOutputDir(jobId)
      await sealed.close()
    },
  }
}
