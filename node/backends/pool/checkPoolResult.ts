// What the pool gateway checks before it serves a worker's result: every file matches its entry,
// the root recomputed from the entries is the one the worker signed, the signature is by the
// allowlisted key of the worker that ran the job, and the exit entry agrees with the metadata.
import { exitEntryContent, resultRoot, verifyWorkerSignature } from '../../../verifier/index.ts'
import { type ErrorCodeTable, errorMessageOf, hostError, SandrunError } from '../../../errors/index.ts'
import { checkResultFiles } from '../../p2p/checkResultFiles.ts'
import type { ExecResult } from '../../p2p/execService.ts'

export type CheckPoolResultParameters = {
  result: ExecResult
  /** The worker_id from workers.json of the peer the job was sent to. */
  workerId: string
}

export type CheckPoolResultReturnType = { root: string }

const poolResultErrorCodes: ErrorCodeTable<'RESULT_REJECTED'> = { RESULT_REJECTED: hostError }

/** A worker's result failed the checks; the pool runs the job elsewhere, the client never sees this. */
export class PoolResultError extends SandrunError<'RESULT_REJECTED'> {
  override name = 'PoolResultError'

  constructor(message: string, { cause }: { cause?: unknown } = {}) {
    super('RESULT_REJECTED', message, poolResultErrorCodes, { cause })
  }
}

export function checkPoolResult({ result, workerId }: CheckPoolResultParameters): CheckPoolResultReturnType {
  checkResultFiles({ entries: result.entries, files: result.files })
  let root: string
  try {
    root = resultRoot(result.entries)
  } catch (error) {
    throw new PoolResultError(`The worker's result entries are not a valid result (${errorMessageOf(error).split('\n')[0]}); run the job elsewhere.`, { cause: error })
  }
  if (result.worker.workerId !== workerId) throw new PoolResultError('The result is signed in the name of another worker; run the job elsewhere.')
  if (!verifyWorkerSignature({ workerId, root, signature: result.worker.signature })) {
    throw new PoolResultError("The worker's signature does not match the result root and its allowlisted key; run the job elsewhere.")
  }
  const exit = result.files.find((f) => f.name === 'exit')
  let expected: string
  try {
    expected = exitEntryContent(result.execution.exitCode, result.execution.termination)
  } catch {
    throw new PoolResultError("The worker's exit metadata is malformed; run the job elsewhere.")
  }
  if (!exit || Buffer.from(exit.content).toString('utf8') !== expected) throw new PoolResultError("The worker's exit metadata does not match its signed exit entry; run the job elsewhere.")
  return { root }
}
