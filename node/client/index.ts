// The package's client entry point (`import { createSandrunClient } from 'sandrun/client'`): the one
// HTTP client of the REST API that the CLI, the MCP server and programs use, plus its helpers.
export {
  createSandrunClient,
  defaultGatewayUrl,
  type GatewayJobId,
  type JobState,
  type JobStatusBody,
  type JobVerification,
  type LogsReturnType,
  type LogStreamMessage,
  type OutputFileBody,
  type OutputsReturnType,
  type SandrunClient,
  type SandrunClientOptions,
  type StatsReturnType,
  type SubmitParameters,
  type SubmitReturnType,
  type SubmitSource,
  type VerifyReturnType,
  type WaitParameters,
} from './sandrunClient.ts'
export { SandrunClientError, type SandrunClientErrorCode, type SandrunClientErrorParameters } from './clientError.ts'
export { streamLogs, type StreamLogsParameters } from './streamLogs.ts'
export { packJob, type PackJobParameters, type PackJobReturnType } from './packJob.ts'
export { saveOutput, type SaveOutputParameters } from './saveOutput.ts'
export { saveReceipt, type SaveReceiptParameters } from './saveReceipt.ts'
export { describeExecution } from './describeExecution.ts'
export { snippetJob, snippetLanguages, type SnippetJobParameters, type SnippetJobReturnType } from './snippetJob.ts'
