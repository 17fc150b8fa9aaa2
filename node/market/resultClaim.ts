// A requester's claim on a result: the gateway that posted a job signs, with the account that posted
// it, that it is fetching the result from one worker. A worker that served its result against a
// valid claim deletes it, since the requester has it now; a fetch without one (anyone may check a
// revealed result) deletes nothing, so nobody else can make workers drop a result before the
// requester got it. Naming the worker keeps one worker from replaying the claim to the others.
import type { Address } from 'viem'
import type { ChainJobId } from '../../verifier/index.ts'

export type ResultClaimParameters = {
  chainId: number
  market: Address
  jobId: ChainJobId
  /** The worker the result is fetched from. */
  worker: Address
}

/** The EIP-191 message the requester's account signs (viem signMessage / recoverMessageAddress). */
export function resultClaimMessage({ chainId, market, jobId, worker }: ResultClaimParameters): string {
  return `sandrun result claim v1\nchain: ${chainId}\nmarket: ${market.toLowerCase()}\njob: ${jobId}\nworker: ${worker.toLowerCase()}`
}
