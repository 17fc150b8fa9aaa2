// Typed errors of the verifier. Every error has a stable `code` callers branch on, a `shortMessage`
// that says what to fix, and optional `details`; same shape as the sandbox's SandboxError so the
// gateway maps both the same way. Mismatches (a proof or signature that does not check out) are not
// errors: those functions return false. Errors mean the input itself is malformed.

export type VerifierErrorCode =
  /** A hex string (hash, root, proof node) is not 0x + the expected number of hex digits. */
  | 'HEX_INVALID'
  /** Merkle input out of range: leaf index beyond the tree, a hash that is not 32 bytes. */
  | 'MERKLE_INPUT_INVALID'
  /** A result (exit code, termination, output path, entry list) cannot be committed as given. */
  | 'RESULT_INVALID'
  /** A proof was asked for an entry name the result does not have. */
  | 'RESULT_ENTRY_NOT_FOUND'
  /** A value cannot be written as RFC 8785 canonical JSON (NaN, Infinity, bigint, undefined). */
  | 'CANONICAL_JSON_INVALID'
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

export type VerifierErrorParameters = {
  details?: string | undefined
  cause?: unknown
}

export class VerifierError extends Error {
  override name = 'VerifierError'
  readonly code: VerifierErrorCode
  readonly shortMessage: string
  readonly details: string | undefined

  constructor(code: VerifierErrorCode, shortMessage: string, { details, cause }: VerifierErrorParameters = {}) {
    super(details ? `${shortMessage}\n\nDetails: ${details}` : shortMessage, { cause })
    this.code = code
    this.shortMessage = shortMessage
    this.details = details
  }
}
