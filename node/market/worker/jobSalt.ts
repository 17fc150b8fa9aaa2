// The commit-reveal salt of one job, derived instead of drawn: a worker that restarts between commit
// and reveal recomputes it from its key, so nothing secret has to survive on disk. It is unguessable
// to others (it covers the private seed) and differs per chain, market and job.
import { concatBytes, hexToBytes, keccak256, numberToBytes, stringToBytes, type Address, type Hex } from 'viem'
import type { ChainJobId } from '../../../verifier/index.ts'

export const jobSaltDomain = 'sandrun-salt-v1'

export type JobSaltParameters = {
  /** The 32-byte Ed25519 seed of the worker key. */
  seed: Uint8Array
  chainId: number
  market: Address
  jobId: ChainJobId
}

/** keccak256(utf8("sandrun-salt-v1") || seed || uint256 chainId || market (20 bytes) || uint256 jobId). */
export function jobSalt({ seed, chainId, market, jobId }: JobSaltParameters): Hex {
  return keccak256(
    concatBytes([stringToBytes(jobSaltDomain), seed, numberToBytes(chainId, { size: 32 }), hexToBytes(market), numberToBytes(jobId, { size: 32 })]),
  )
}
