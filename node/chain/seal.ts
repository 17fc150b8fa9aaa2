// The commit-reveal seal a worker submits: keccak256(abi.encode(jobId, worker, resultRoot, salt)),
// computed off chain exactly as SandrunMarket.reveal recomputes it.
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem'
import { randomBytes } from 'node:crypto'
import type { ChainJobId } from '../../verifier/index.ts'

export type ComputeSealParameters = { jobId: ChainJobId; worker: Address; resultRoot: Hex; salt: Hex }

export function computeSeal({ jobId, worker, resultRoot, salt }: ComputeSealParameters): Hex {
  return keccak256(
    encodeAbiParameters([{ type: 'uint256' }, { type: 'address' }, { type: 'bytes32' }, { type: 'bytes32' }], [jobId, worker, resultRoot, salt]),
  )
}

/** A fresh 32-byte salt; without it, a seal over a guessable root could be brute-forced. */
export function randomSalt(): Hex {
  return `0x${randomBytes(32).toString('hex')}`
}
