// Mirror of MarketEligibility.ticket: a worker's ticket for one round of one job.
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem'
import type { ChainJobId } from '../../../verifier/index.ts'

export type EligibilityTicketParameters = { seed: Hex; jobId: ChainJobId; worker: Address }

/** The top 128 bits of keccak256(abi.encode(seed, jobId, worker)). */
export function eligibilityTicket({ seed, jobId, worker }: EligibilityTicketParameters): bigint {
  return BigInt(keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }, { type: 'address' }], [seed, jobId, worker]))) >> 128n
}
