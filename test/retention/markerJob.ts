// The job the retention tests run: it prints a random marker and writes it to an output file, so
// finding those bytes anywhere means a copy of the job's output. The marker is reversed in the
// source, so the bundle and the spec never hold it in clear.
import { randomBytes } from 'node:crypto'

export type MarkerJob = { marker: string; files: Record<string, string>; manifest: Record<string, unknown> }

export function markerJob({ exitCode = 0, sleepSeconds = 0 }: { exitCode?: number; sleepSeconds?: number } = {}): MarkerJob {
  const marker = `sandrun-marker-${randomBytes(12).toString('hex')}`
  const reversed = [...marker].reverse().join('')
  const script = [
    'import sys, time',
    `marker = "${reversed}"[::-1]`,
    'print(marker, flush=True)',
    'open("out.txt", "w").write(marker + "\\n")',
    `time.sleep(${sleepSeconds})`,
    `sys.exit(${exitCode})`,
    '',
  ].join('\n')
  return { marker, files: { 'main.py': script }, manifest: { entrypoint: 'main.py', outputs: ['out.txt'] } }
}
