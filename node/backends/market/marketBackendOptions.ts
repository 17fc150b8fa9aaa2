// What a market gateway can be told (sandrun gateway's flags map onto it), and the defaults with
// the reasons for each: windows, polling, result and report fetch limits, retention, confirmations.
import { resultWindowMs } from '../../market/resultWindow.ts'

export type MarketBackendOptions = {
  /** Replicas of a job whose manifest does not say (the manifest's own default is 3). */
  defaultReplicas: number
  /** Reward per replica (wei) when the manifest sets no reward_wei. */
  rewardWei: bigint
  /** Seconds workers have to commit, and then to reveal. */
  commitWindowSeconds: number
  revealWindowSeconds: number
  /** How often open jobs are read from the chain. */
  pollIntervalMs: number
  /** How often a job with free slots is announced again (peers that joined late, lost gossip). */
  announceIntervalMs: number
  /** Give up fetching a finalized job's result after this long; within the workers' result window (node/market/resultWindow.ts). */
  resultDeadlineMs: number
  /** One result fetch from one worker; an unresponsive worker must not hold the job up for long. */
  resultFetchTimeoutMs: number
  /** Collecting the other workers' execution reports after a job settled (each, in parallel). */
  reportFetchTimeoutMs: number
  /** Bytes of each output stream kept and shown; workers cut there too. */
  outputCaptureBytes: number
  /** An RPC URL of the chain to advertise in /health (for `sandrun verify`); null: none. */
  publicRpcUrl: string | null
  /** Jobs not yet settled at once; beyond it submissions get QUEUE_FULL. */
  maxOpenJobs: number
  retentionMaxMs: number
  retentionAfterFailureMs: number
  /** Blocks the settlement must be deep before a job is completed (node/chain/confirmationDepth.ts; 0: at once). */
  confirmations: number
  /** Hold jobs at the gateway while the workers heard have no room for them (postAdmission.ts); false posts every job at once. */
  holdForWorkers: boolean
}

export const defaultMarketBackendOptions: MarketBackendOptions = {
  // Three replicas: one dishonest or broken worker is outvoted by the other two.
  defaultReplicas: 3,
  // 0.001 ETH a replica: enough for a worker to care on a dev chain; public gateways set their own.
  rewardWei: 10n ** 15n,
  // Committees are drawn over the commit window and nobody commits in its first eighth (15 s),
  // the time honest workers get to run a job before a bot that runs nothing may commit: 120 s keeps
  // a forged unanimous result near the floor of share^replicas (docs/contracts.md#numbers). A dev
  // chain uses shorter windows.
  commitWindowSeconds: 120,
  // The deployment's default minimum (docs/contracts.md).
  revealWindowSeconds: 60,
  // A few polls per block on a 1 s chain; each poll is one eth_call per open job.
  pollIntervalMs: 300,
  announceIntervalMs: 2000,
  // Half the workers' result window: every retry happens while they still hold the result.
  resultDeadlineMs: resultWindowMs / 2,
  // A result is at most a few hundred MiB over a LAN-or-better link between gateway and worker.
  resultFetchTimeoutMs: 60_000,
  // Reports are a few hundred bytes; a worker that cannot send one in this time is shown without it.
  reportFetchTimeoutMs: 10_000,
  // The sandbox's default capture per stream (defaultSandboxLimits.outputCaptureBytes): the one
  // truncation rule of every mode. A test keeps the two equal.
  outputCaptureBytes: 10 * 1024 * 1024,
  // The gateway's own RPC URL may hold an API key: advertised only when the operator says so.
  publicRpcUrl: null,
  maxOpenJobs: 200,
  // Sandrun's retention: 1 hour at most, 5 minutes after a failure.
  retentionMaxMs: 60 * 60_000,
  retentionAfterFailureMs: 5 * 60_000,
  // The dev chain's; createMarketGateway sets the chain's own (confirmationDepth) unless told one.
  confirmations: 0,
  // Jobs posted beyond what the workers can run expire or end inconclusive (docs/BENCHMARKS.md).
  holdForWorkers: true,
}
