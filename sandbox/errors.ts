// Typed errors of the sandbox. Every error has a stable `code` the gateway maps to an HTTP status
// (user mistakes are 4xx), a `shortMessage` that says what to fix, and optional `details`.
// Messages never contain host paths: they are shown to anonymous users.

export type SandboxErrorCode =
  | 'MANIFEST_INVALID'
  | 'BUNDLE_INVALID'
  | 'BUNDLE_UNSAFE_ENTRY'
  | 'BUNDLE_TOO_LARGE'
  | 'ENTRYPOINT_MISSING'
  | 'INTERPRETER_UNKNOWN'
  | 'INTERPRETER_MISSING'
  | 'ENV_FORBIDDEN'
  | 'ENVIRONMENT_UNKNOWN'
  | 'GPU_UNAVAILABLE'
  | 'HOST_UNSUPPORTED'
  | 'SANDBOX_FAILED'

/** Codes caused by the job's submitter; the gateway answers them with 400. */
export const userErrorCodes: ReadonlySet<SandboxErrorCode> = new Set([
  'MANIFEST_INVALID',
  'BUNDLE_INVALID',
  'BUNDLE_UNSAFE_ENTRY',
  'BUNDLE_TOO_LARGE',
  'ENTRYPOINT_MISSING',
  'INTERPRETER_UNKNOWN',
  'INTERPRETER_MISSING',
  'ENV_FORBIDDEN',
  'ENVIRONMENT_UNKNOWN',
  'GPU_UNAVAILABLE',
])

export type SandboxErrorParameters = {
  details?: string | undefined
  cause?: unknown
}

export class SandboxError extends Error {
  override name = 'SandboxError'
  readonly code: SandboxErrorCode
  readonly shortMessage: string
  readonly details: string | undefined

  constructor(code: SandboxErrorCode, shortMessage: string, { details, cause }: SandboxErrorParameters = {}) {
    super(details ? `${shortMessage}\n\nDetails: ${details}` : shortMessage, { cause })
    this.code = code
    this.shortMessage = shortMessage
    this.details = details
  }

  /** True when the submitter can fix this by changing the job (a 4xx, not a host failure). */
  get isUserError(): boolean {
    return userErrorCodes.has(this.code)
  }
}
