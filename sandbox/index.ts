// Public API of the sandbox library: create one sandbox per host, run jobs in it.
export { createSandbox, defaultSandboxLimits, type CreateSandboxOptions } from './createSandbox.ts'
export { SandboxError, type SandboxErrorCode } from './errors.ts'
export type { HostCapabilities, InterpreterInfo, IsolationLevel, RunJobParameters, Sandbox, SandboxLimits } from './sandbox.ts'
export type { InterpreterName, Manifest, OutputFile, OutputStream, RunJobResult, Termination } from './types.ts'
