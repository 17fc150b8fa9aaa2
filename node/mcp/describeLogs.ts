// A job's stdout and stderr as one readable block, each under its own header, cut to a size a
// model's context can take (get_logs has everything the gateway kept).
import type { LogsReturnType } from '../client/sandrunClient.ts'

export type DescribeLogsParameters = {
  logs: LogsReturnType
  /** Cut each stream after this many characters; no cut when undefined. */
  maxChars?: number | undefined
}

function section(name: string, text: string, truncatedByGateway: boolean, maxChars: number | undefined): string {
  const header = `--- ${name}${truncatedByGateway ? ' (truncated by the gateway)' : ''} ---\n`
  const cut = maxChars !== undefined && text.length > maxChars
  const body = cut ? `${text.slice(0, maxChars)}\n[${name} cut after ${maxChars} characters; ${text.length - maxChars} more: call get_logs]` : text
  return header + body + (body === '' || body.endsWith('\n') ? '' : '\n')
}

export function describeLogs({ logs, maxChars }: DescribeLogsParameters): string {
  return section('stdout', logs.stdout, logs.stdout_truncated, maxChars) + section('stderr', logs.stderr, logs.stderr_truncated, maxChars)
}
