// Reads the `exit` result entry back (the inverse of exitEntryContent): the gateway reports a market
// job's exit from it, a worker replays a stored job's log from it.

export type ParseExitEntryReturnType = {
  /** null for `null` (no exit of its own) or a missing code. */
  exitCode: number | null
  /** `exited`, `signaled:N`, ... as written; '' when the entry has none. */
  termination: string
}

/** `"<code>:<termination>"` (UTF-8 bytes or text) as its parts. Tolerant: the entry is already bound to a root. */
export function parseExitEntry(content: Uint8Array | string): ParseExitEntryReturnType {
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8')
  const [code, ...termination] = text.split(':')
  return { exitCode: code === undefined || code === '' || code === 'null' ? null : Number(code), termination: termination.join(':') }
}
