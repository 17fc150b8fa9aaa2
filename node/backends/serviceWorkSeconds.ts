// The service's own work for a client, as CPU seconds charged to that client's quota like its jobs'
// CPU time: relaying a job's output (every byte read from its pipes, those past the capture cap
// included), inflating its bundle (at submission and again at extraction), and handling a refused
// submission. Without this, a job printing /dev/zero cost itself under a second and the service ten.
// Rates measured with bench/api/hostileSoak.ts's calibration (docs/BENCHMARKS.md), rounded up.

/** Reading a job's pipes in the launcher, relaying, capturing and fanning out: ~4 CPU-s per GiB. */
const cpuSecondsPerRelayedMiB = 0.004
/** gunzip, tar parsing and the bundle checks: ~10 CPU-s per GiB inflated. */
const cpuSecondsPerInflatedMiB = 0.01
/** Parsing the multipart body and the manifest, answering: a few milliseconds. */
const cpuSecondsPerRefusedSubmission = 0.01

const mib = 1024 * 1024

export type ServiceWork = {
  relayedBytes?: number | undefined
  inflatedBytes?: number | undefined
  refusedSubmissions?: number | undefined
}

export function serviceWorkSeconds({ relayedBytes = 0, inflatedBytes = 0, refusedSubmissions = 0 }: ServiceWork): number {
  return (relayedBytes / mib) * cpuSecondsPerRelayedMiB + (inflatedBytes / mib) * cpuSecondsPerInflatedMiB + refusedSubmissions * cpuSecondsPerRefusedSubmission
}
