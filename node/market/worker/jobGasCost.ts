// What taking a job costs a worker in gas, priced at the current fee: its commit and its reveal
// (the last reveal also settles the job), from docs/BENCHMARKS.md's gas table. A worker takes a job
// only when the reward minus this is at least its price floor (--min-profit-wei).

export const jobGas = {
  // A commit is 66-71k gas for 1-5 replicas; a reveal 37-39k, but the last one settles the job
  // (55-106k). Rounded up: a worker cannot know whether its reveal will be the last.
  commit: 72_000n,
  reveal: 108_000n,
} as const

/** Gas of one job's commit and reveal times `feePerGas` (the next block's base fee plus the tip), in wei. */
export function jobGasCost(feePerGas: bigint): bigint {
  return (jobGas.commit + jobGas.reveal) * feePerGas
}
