// The spec document a worker fetches by the on-chain spec hash, decoded by the verifier's one codec
// (verifier/specDocument.ts) with the sandbox's manifest rules; a document that is not exactly the
// job's is the gateway's fault, so the worker skips the job (SPEC_INVALID).
import { parseManifest } from '../../../sandbox/index.ts'
import { decodeSpecDocument, type SpecDocument, type SpecHash, VerifierError } from '../../../verifier/index.ts'
import { WorkerError } from './workerError.ts'

export type { SpecDocument }

export type ParseSpecDocumentParameters = {
  data: Uint8Array
  /** The spec hash read from the chain. */
  specHash: SpecHash
}

/** A spec document is a few KiB; this bounds what a worker fetches for one. */
export const maxSpecDocumentBytes = 256 * 1024

export function parseSpecDocument({ data, specHash }: ParseSpecDocumentParameters): SpecDocument {
  try {
    return decodeSpecDocument({ data, specHash, parseManifest })
  } catch (error) {
    if (error instanceof VerifierError && error.code === 'SPEC_DOCUMENT_INVALID') throw new WorkerError('SPEC_INVALID', error.shortMessage, { cause: error.cause })
    throw error
  }
}
