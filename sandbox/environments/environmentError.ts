// Errors of template management (`sandrun env`), shown to the operator: each code says what to do.
// A job asking for a missing template is a SandboxError (ENVIRONMENT_UNKNOWN, a 400) instead.

export type EnvironmentErrorCode =
  /** No template has this name: pick one from `sandrun env list`. */
  | 'TEMPLATE_UNKNOWN'
  /** apt-get needs root: rerun as root (or with sudo). */
  | 'NOT_ROOT'
  /** apt-get failed: its last lines are in the details. */
  | 'INSTALL_FAILED'
  /** Packages installed but a module does not import: the host's Python and packages disagree. */
  | 'SMOKE_CHECK_FAILED'

export class EnvironmentError extends Error {
  override name = 'EnvironmentError'
  readonly code: EnvironmentErrorCode
  readonly shortMessage: string
  readonly details: string | undefined

  constructor(code: EnvironmentErrorCode, shortMessage: string, { details, cause }: { details?: string | undefined; cause?: unknown } = {}) {
    super(details ? `${shortMessage}\n\nDetails: ${details}` : shortMessage, { cause })
    this.code = code
    this.shortMessage = shortMessage
    this.details = details
  }
}
