// The usage a market job shows: the median of the agreeing workers' valid signed reports, so one
// worker cannot move it alone; the truncation flags are what most of them say.
import type { WorkerExecutionReport } from '../jobBackend.ts'

export type ExecutionSummary = { cpuSeconds: number; memoryPeakBytes: number; wallTimeMs: number; stdoutTruncated: boolean; stderrTruncated: boolean; reports: number }

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** The median figures of the valid reports about `root` (the consensus root); null when there are none. */
export function summarizeExecutionReports(reports: WorkerExecutionReport[], root: string): ExecutionSummary | null {
  const agreeing = reports.filter((r) => r.signatureValid && r.resultRoot.toLowerCase() === root.toLowerCase())
  if (agreeing.length === 0) return null
  const most = (flag: (r: WorkerExecutionReport) => boolean): boolean => agreeing.filter(flag).length * 2 > agreeing.length
  return {
    cpuSeconds: median(agreeing.map((r) => r.cpuSeconds)),
    memoryPeakBytes: Math.round(median(agreeing.map((r) => r.memoryPeakBytes))),
    wallTimeMs: median(agreeing.map((r) => r.wallTimeMs)),
    stdoutTruncated: most((r) => r.stdoutTruncated),
    stderrTruncated: most((r) => r.stderrTruncated),
    reports: agreeing.length,
  }
}
