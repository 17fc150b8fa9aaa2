// Typed errors of the verifier. Every error has a stable `code` callers branch on, a `shortMessage`
// that says what to fix, and optional `details` (a SandrunError; verifierErrorCodes has the status of
// each code). Mismatches (a proof or signature that does not check out) are not errors: those
// functions return false. Errors mean the input itself is malformed.
import { type ErrorCodeTable, hostError, SandrunError } from '../errors/index.ts'

export type VerifierErrorCode =
  /** A hex string (hash, root, proof node) is not 0x + the expected number of hex digits. */
  | 'HEX_INVALID'
  /** An on-chain job id is not a decimal integer within uint256. */
  | 'CHAIN_JOB_ID_INVALID'
  /** Merkle input out of range: leaf index beyond the tree, a hash that is not 32 bytes. */
  | 'MERKLE_INPUT_INVALID'
  /** A result (exit code, termination, output path, entry list) cannot be committed as given. */
  | 'RESULT_INVALID'
  /** A proof was asked for an entry name the result does not have. */
  | 'RESULT_ENTRY_NOT_FOUND'
  /** A value cannot be written as RFC 8785 canonical JSON (NaN, Infinity, bigint, undefined). */
  | 'CANONICAL_JSON_INVALID'
  /** A spec document is not the canonical, normalized document of the spec hash it was fetched by. */
  | 'SPEC_DOCUMENT_INVALID'
  /** An environment description (interpreter version, package list) is empty or malformed. */
  | 'ENVIRONMENT_INVALID'
  /** A worker key or worker id is malformed or inconsistent. */
  | 'KEY_INVALID'
  /** The key file already exists and overwriting was not asked for. */
  | 'KEY_FILE_EXISTS'
  /** The key file cannot be read, or others than its owner can read it. */
  | 'KEY_FILE_UNREADABLE'
  /** The market has no job with this id (status None): wrong id, market or chain. */
  | 'JOB_NOT_FOUND'
  /** The job is still open (or was cancelled/expired): there is no consensus root to check against. */
  | 'JOB_NOT_FINALIZED'
  /** The job settled without a quorum: no root won, so no result can be verified. */
  | 'JOB_INCONCLUSIVE'
  /** The RPC serves another chain than the deployment names; point --rpc at the right chain. */
  | 'CHAIN_MISMATCH'
  /** The RPC cannot be reached or answered with an error; check the URL and try again. */
  | 'CHAIN_UNREACHABLE'
  /** Storage and events disagree (a broken or lying RPC node); ask another node. */
  | 'CHAIN_INCONSISTENT'
  /** An outputs folder cannot be read (missing, a link, an unreadable file). */
  | 'OUTPUTS_UNREADABLE'

const malformed = { statusCode: 400, userFault: true }
const chainFailed = { statusCode: 502, userFault: false }

/** Per code: malformed input is the caller's to fix; a chain that cannot answer is a bad gateway. */
export const verifierErrorCodes: ErrorCodeTable<VerifierErrorCode> = {
  HEX_INVALID: malformed,
  CHAIN_JOB_ID_INVALID: malformed,
  MERKLE_INPUT_INVALID: malformed,
  RESULT_INVALID: malformed,
  RESULT_ENTRY_NOT_FOUND: { statusCode: 404, userFault: true },
  CANONICAL_JSON_INVALID: malformed,
  ENVIRONMENT_INVALID: malformed,
  SPEC_DOCUMENT_INVALID: malformed,
  KEY_INVALID: hostError,
  KEY_FILE_EXISTS: hostError,
  KEY_FILE_UNREADABLE: hostError,
  JOB_NOT_FOUND: { statusCode: 404, userFault: true },
  JOB_NOT_FINALIZED: { statusCode: 409, userFault: true },
  JOB_INCONCLUSIVE: { statusCode: 409, userFault: false },
  CHAIN_MISMATCH: chainFailed,
  CHAIN_UNREACHABLE: chainFailed,
  CHAIN_INCONSISTENT: chainFailed,
  OUTPUTS_UNREADABLE: malformed,
}

export type VerifierErrorParameters = {
  details?: string | undefined
  cause?: unknown
}

export class VerifierError extends SandrunError<VerifierErrorCode> {
  override name = 'VerifierError'

  constructor(code: VerifierErrorCode, shortMessage: string, parameters: VerifierErrorParameters = {}) {
    super(code, shortMessage, verifierErrorCodes, parameters)
  }
}
