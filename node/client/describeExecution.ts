// One line on how a job ran, for people and models (CLI, MCP): exit, wall and CPU time, peak memory,
// who measured them, and "—" for any figure nobody measured (never a made-up 0).
import type { JobStatusBody } from './sandrunClient.ts'

type Execution = NonNullable<JobStatusBody['execution_metadata']>

const unknown = '—'

export function describeExecution(meta: Execution): string {
  const figure = (value: number | null | undefined, format: (n: number) => string): string => (value === null || value === undefined ? unknown : format(value))
  const source =
    meta.reported_by === 'workers'
      ? meta.reports
        ? ` (median of ${meta.reports} worker report${meta.reports === 1 ? '' : 's'}, signed by the workers; not part of the verified result)`
        : ' (no worker reported its usage)'
      : ''
  return [
    `exit code ${meta.exit_code ?? 'none'} (${meta.termination})`,
    `${figure(meta.wall_time_ms, (n) => `${n.toFixed(0)} ms`)} wall`,
    `${figure(meta.cpu_seconds, (n) => `${n.toFixed(3)} s`)} CPU`,
    `${figure(meta.memory_peak_bytes, (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`)} peak memory${source}`,
  ].join(', ')
}
