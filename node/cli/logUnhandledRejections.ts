// The last line of defence of long-running commands (serve, gateway, worker): a promise rejection
// nobody handled is a bug, but it must not take a public service down with every job in flight.
// It is logged (no job contents: an error's name, code and message) and the process keeps serving.
import { errorCodeOf } from '../../errors/index.ts'
export type StructuredLog = (message: string, context: Record<string, unknown>) => void

export function logUnhandledRejections(log: StructuredLog): void {
  process.on('unhandledRejection', (reason) => {
    const error = reason instanceof Error ? reason : new Error(String(reason))
    log('unhandled rejection (a bug; the service keeps running)', {
      error: error.name,
      code: errorCodeOf(error),
      reason: error.message.slice(0, 500),
      at: error.stack?.split('\n').slice(1, 4).map((line) => line.trim()),
    })
  })
}
