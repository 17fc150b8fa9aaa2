// A node's Ethereum account, derived from its Ed25519 worker key so one key file is the whole
// identity (peer id, worker_id and the account that stakes, posts and gets paid):
// ethPrivateKey = keccak256(utf8("sandrun-eth-v1") || seed), re-hashed in the 1-in-2^128 case
// where that is not a valid secp256k1 scalar.
import { concatBytes, hexToBigInt, keccak256, stringToBytes, type Hex } from 'viem'
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import type { WorkerKey } from '../../verifier/index.ts'

/** secp256k1 group order: a private key must be in [1, n-1]. */
const curveOrder = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

export const ethAccountDomain = 'sandrun-eth-v1'

/** The private key only (for tools that need the hex); prefer ethAccountFromWorkerKey. */
export function ethPrivateKeyFromWorkerKey(key: Pick<WorkerKey, 'privateKey'>): Hex {
  let candidate = keccak256(concatBytes([stringToBytes(ethAccountDomain), key.privateKey]))
  for (;;) {
    const scalar = hexToBigInt(candidate)
    if (scalar !== 0n && scalar < curveOrder) return candidate
    candidate = keccak256(candidate)
  }
}

/** The viem account of a worker (or gateway) key: same seed, same address, on every machine. */
export function ethAccountFromWorkerKey(key: Pick<WorkerKey, 'privateKey'>): PrivateKeyAccount {
  return privateKeyToAccount(ethPrivateKeyFromWorkerKey(key))
}
