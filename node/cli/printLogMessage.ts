// Writes one message of a job's log stream the way the CLI shows it: output to stdout/stderr as it
// comes, and a `[sandrun]` line on stderr wherever the gateway says output was cut or lost, so a
// cut never passes silently and a line that starts mid-way is explained.
import type { LogStreamMessage } from '../client/streamLogs.ts'

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** Counts the bytes of output written per stream in `written`, for a caller that may have to resume from /logs. */
export function printLogMessage(message: LogStreamMessage, written: { stdout: number; stderr: number }): void {
  if (message.type === 'output') {
    ;(message.stream === 'stdout' ? process.stdout : process.stderr).write(message.data)
    written[message.stream] += Buffer.byteLength(message.data)
  } else if (message.type === 'truncated') {
    process.stderr.write(`\n[sandrun] ${message.stream} reached the ${mib(message.cap_bytes)} cap per stream; the rest of it was not kept (write large results to a file: files are outputs).\n`)
  } else if (message.type === 'gap') {
    process.stderr.write(`\n[sandrun] ${message.dropped_bytes} bytes of output were lost on the way here; what follows may start mid-line (\`sandrun logs <job>\` has the full kept output once the job ends).\n`)
  }
}
