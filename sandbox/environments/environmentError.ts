// Errors of template management (`sandrun env`), shown to the operator: each code says what to do.
// A job asking for a missing template is a SandboxError (ENVIRONMENT_UNKNOWN, a 400) instead.
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

export type EnvironmentErrorCode =
  /** No template has this name: pick one from `sandrun env list`. */
  | 'TEMPLATE_UNKNOWN'
  /** apt-get needs root: rerun as root (or with sudo). */
  | 'NOT_ROOT'
  /** apt-get failed: its last lines are in the details. */
  | 'INSTALL_FAILED'
  /** Packages installed but a module does not import: the host's Python and packages disagree. */
  | 'SMOKE_CHECK_FAILED'

/** For the operator of `sandrun env`, never an HTTP client. */
export const environmentErrorCodes: ErrorCodeTable<EnvironmentErrorCode> = {
  TEMPLATE_UNKNOWN: hostError,
  NOT_ROOT: hostError,
  INSTALL_FAILED: hostError,
  SMOKE_CHECK_FAILED: hostError,
}

export class EnvironmentError extends SandrunError<EnvironmentErrorCode> {
  override name = 'EnvironmentError'

  constructor(code: EnvironmentErrorCode, shortMessage: string, parameters: { details?: string | undefined; cause?: unknown } = {}) {
    super(code, shortMessage, environmentErrorCodes, parameters)
  }
}
