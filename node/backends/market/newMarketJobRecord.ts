// The gateway's record of a market job it is about to post: what the API shows of it from the
// start (queued, posting), and the verification facts the chain will fill in.
import type { Manifest } from '../../../sandbox/index.ts'
import { majorityQuorum } from '../../../verifier/index.ts'
import type { Deployment } from '../../chain/deployment.ts'
import { newJobId } from '../jobTable/createJobTable.ts'
import type { MarketJobRecord } from './jobStore.ts'
import type { BuildSpecDocumentReturnType } from './specDocument.ts'

export type NewMarketJobRecordParameters = {
  manifest: Manifest
  spec: BuildSpecDocumentReturnType
  bundleSize: number
  environmentDigest: string
  /** Per replica (wei). */
  rewardWei: bigint
  now: number
  retentionMaxMs: number
  deployment: Deployment
  /** Blocks its settlement must be deep before the job is completed. */
  confirmationsRequired: number
}

export function newMarketJobRecord({ manifest, spec, bundleSize, environmentDigest, rewardWei, now, retentionMaxMs, deployment, confirmationsRequired }: NewMarketJobRecordParameters): MarketJobRecord {
  const { replicas } = manifest
  return {
    id: newJobId(),
    state: 'queued',
    manifest,
    bundleSha256: spec.bundleSha256,
    bundleSize,
    environmentDigest,
    rewardWei: rewardWei.toString(),
    submittedAt: now,
    startedAt: null,
    finishedAt: null,
    expiresAt: now + retentionMaxMs,
    execution: null,
    verification: {
      state: 'posting',
      resultVerified: false,
      resultRoot: null,
      replicas,
      quorum: manifest.quorum ?? majorityQuorum(replicas),
      committed: 0,
      revealed: 0,
      agreeing: [],
      dissenting: [],
      slashed: [],
      chainId: deployment.chainId,
      market: deployment.market.toLowerCase(),
      chainJobId: null,
      specHash: spec.specHash,
      txHashes: { post: null, commits: [], reveals: [], finalize: null },
      confirmations: null,
      confirmationsRequired,
    },
    result: null,
    error: null,
  }
}
