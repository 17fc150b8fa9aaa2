// Structured log lines of the worker: a fixed message plus a context object, one JSON object per
// line ({time, message, ...context}). Context carries ids, hashes and amounts, never job contents.

export type WorkerLog = (message: string, context?: Record<string, unknown>) => void

/** JSON lines to `write` (stderr by default); bigints become decimal strings. */
export function jsonLineLog(write: (line: string) => void = (line) => process.stderr.write(line)): WorkerLog {
  return (message, context = {}) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), message, ...context }, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}\n`)
  }
}

export const silentLog: WorkerLog = () => undefined
