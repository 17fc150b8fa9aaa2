// Binds a finished run to the result commitment (docs/verify.md, "What is committed"): the result root over the
// entries (exit, stdout, stderr, outputs/<path>) and this worker's Ed25519 signature over it.
import type { RunJobResult } from '../../../sandbox/index.ts'
import { resultEntries, resultRoot, workerMetadata, type WorkerKey } from '../../../verifier/index.ts'

export type CommitResultReturnType = {
  root: string
  worker: { workerId: string; signature: string }
}

export function commitResult(result: RunJobResult, key: WorkerKey): CommitResultReturnType {
  const root = resultRoot(resultEntries(result))
  const { worker_id, signature } = workerMetadata(key, root)
  return { root, worker: { workerId: worker_id, signature } }
}
