// Typed errors of the sandbox. Every error has a stable `code` whose entry in sandboxErrorCodes says
// whether the submitter caused it (a 400), a `shortMessage` that says what to fix, and optional
// `details`. Messages never contain host paths: they are shown to anonymous users.
import { type ErrorCodeTable, hostError, SandrunError } from '../errors/index.ts'

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

const user = { statusCode: 400, userFault: true }

/** Per code: user mistakes are answered with 400 and the message; the host's own failures are internal. */
export const sandboxErrorCodes: ErrorCodeTable<SandboxErrorCode> = {
  MANIFEST_INVALID: user,
  BUNDLE_INVALID: user,
  BUNDLE_UNSAFE_ENTRY: user,
  BUNDLE_TOO_LARGE: user,
  ENTRYPOINT_MISSING: user,
  INTERPRETER_UNKNOWN: user,
  INTERPRETER_MISSING: user,
  ENV_FORBIDDEN: user,
  ENVIRONMENT_UNKNOWN: user,
  GPU_UNAVAILABLE: user,
  HOST_UNSUPPORTED: hostError,
  SANDBOX_FAILED: hostError,
}

export type SandboxErrorParameters = {
  details?: string | undefined
  cause?: unknown
}

export class SandboxError extends SandrunError<SandboxErrorCode> {
  override name = 'SandboxError'

  constructor(code: SandboxErrorCode, shortMessage: string, parameters: SandboxErrorParameters = {}) {
    super(code, shortMessage, sandboxErrorCodes, parameters)
  }
}
