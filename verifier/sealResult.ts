// Seals one run into the result every mode commits to (docs/verify.md, "What is committed"): its
// entries (exit, stdout, stderr, outputs/<path>), their root, the exit entry's bytes, and with a
// worker key the signature over the root. Local, pool and market runs are all sealed here.
import type { ResultEntry } from './canonicalResultEntries.ts'
import type { Hex } from './hex.ts'
import { exitEntryContent, resultEntries, type ResultEntriesParameters } from './resultEntries.ts'
import { resultRoot } from './resultRoot.ts'
import { type WorkerKey, workerMetadata } from './workerIdentity.ts'

export type SealedResult = {
  /** What a peer or verifier is sent: names, sums and sizes, no content. */
  entries: Array<Pick<ResultEntry, 'name' | 'sha256' | 'size'>>
  /** The result root: the Merkle root over the entries, what is signed and committed on chain. */
  resultRoot: Hex
  /** The content of the `exit` entry, `"<code>:<termination>"` in UTF-8. */
  exit: Uint8Array
}

export type SignedResult = SealedResult & {
  /** Who ran it and their Ed25519 signature over `resultRoot`. */
  worker: { workerId: string; signature: string }
}

/** The sealed result of a run; with `key`, also signed by that worker (local and pool modes). */
export function sealResult(result: ResultEntriesParameters): SealedResult
export function sealResult(result: ResultEntriesParameters, key: WorkerKey): SignedResult
export function sealResult(result: ResultEntriesParameters, key?: WorkerKey): SealedResult | SignedResult {
  const entries = resultEntries(result).map(({ name, sha256, size }) => ({ name, sha256, size }))
  const root = resultRoot(entries)
  const exit = Buffer.from(exitEntryContent(result.exitCode, result.termination), 'utf8')
  if (!key) return { entries, resultRoot: root, exit }
  const { worker_id, signature } = workerMetadata(key, root)
  return { entries, resultRoot: root, exit, worker: { workerId: worker_id, signature } }
}
