// Saves a job's receipt (`.sandrun-result.json`: result entries, result root, worker signature and
// the on-chain ids) into the folder its outputs go to, before they are downloaded: the gateway
// deletes a job once every output is downloaded, and `sandrun verify --dir/--file` needs the
// entries later. Nothing in it is trusted: verify checks every claim against the chain or the signature.
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { resultReceiptName } from '../../verifier/index.ts'
import type { JobStatusBody, SandrunClient } from './sandrunClient.ts'

export type SaveReceiptParameters = {
  client: SandrunClient
  jobId: string
  dir: string
  /** The job's status if already fetched (saves a request). */
  status?: JobStatusBody | undefined
}

/** The receipt's path, or null when the gateway cannot give the entries (an old gateway without /verify). */
export async function saveReceipt({ client, jobId, dir, status }: SaveReceiptParameters): Promise<string | null> {
  let entries: unknown
  try {
    entries = (await client.verify(jobId)).entries
  } catch {
    return null
  }
  if (!Array.isArray(entries)) return null
  const current = status ?? (await client.status(jobId))
  const receipt = {
    job_id: jobId,
    job_hash: current.job_hash ?? null,
    worker_metadata: current.worker_metadata ?? null,
    verification: current.verification ?? null,
    entries,
  }
  await mkdir(dir, { recursive: true })
  const file = path.join(dir, resultReceiptName)
  await writeFile(file, `${JSON.stringify(receipt, null, 2)}\n`)
  return file
}
