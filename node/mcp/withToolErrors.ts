// Every MCP tool handler runs inside this wrapper so that a failure reaches the model as an MCP tool
// error (`isError: true`) with a message saying what to do, instead of a protocol error it cannot read.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { SandrunClientError } from '../client/clientError.ts'

/** The readable text of a failure, with the next step for the codes a model can act on. */
export function describeToolError(error: unknown): string {
  if (error instanceof SandrunClientError) {
    switch (error.code) {
      case 'RATE_LIMITED':
        return `${error.shortMessage}. Retry in ${error.retryAfterSeconds ?? 1} s.`
      case 'NOT_FOUND':
        return `${error.shortMessage}. Jobs are deleted after all outputs were downloaded, 5 minutes after a failure, and 1 hour at most; submit the job again.`
      default:
        return error.shortMessage
    }
  }
  if (error instanceof Error && error.name === 'AbortError') return 'Cancelled.'
  return error instanceof Error ? error.message : String(error)
}

export function toolError(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: describeToolError(error) }] }
}

export function withToolErrors<Args extends unknown[]>(handler: (...args: Args) => Promise<CallToolResult>): (...args: Args) => Promise<CallToolResult> {
  return async (...args) => {
    try {
      return await handler(...args)
    } catch (error) {
      return toolError(error)
    }
  }
}
