// The JSON shapes of GET /status/:id as the client reads them: the gateway's own response schemas
// (node/gateway/schemas.ts), with the fields that older gateways leave out made optional. Apart from
// sandrunClient.ts so that the log stream can name them without a cycle. Type-only: the client's
// JavaScript does not load the gateway.
import type { Static } from '@sinclair/typebox'
import type { JobState as JobStateSchema, OutputFileEntry, StatusResponse, VerificationBody } from '../gateway/schemas.ts'

export type JobState = Static<typeof JobStateSchema>

export type OutputFileBody = Static<typeof OutputFileEntry>

type ExecutionMetadata = NonNullable<StatusResponse['execution_metadata']>
/** Added to execution_metadata after the first gateways: absent from theirs. */
type LaterExecutionFields = 'stdout_truncated' | 'stderr_truncated' | 'reported_by'

export type JobStatusBody = Omit<StatusResponse, 'execution_metadata' | 'verification'> & {
  execution_metadata: (Omit<ExecutionMetadata, LaterExecutionFields> & Partial<Pick<ExecutionMetadata, LaterExecutionFields>>) | null
  /** Market mode only: how the result was agreed on chain. */
  verification?: JobVerification | undefined
}

/**
 * The market-mode verification summary in `/status` (how the chain agreed on the result). Every
 * field is optional, so that older and newer gateways both parse.
 */
export type JobVerification = Partial<Static<typeof VerificationBody>> & { [field: string]: unknown }

/** What to run: exactly one of a ready bundle, in-memory files, or a folder on disk. */
