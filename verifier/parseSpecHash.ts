// A spec hash that arrives from outside (a gossip message, a chain event, a record on disk) rather
// than from hashing a spec document (specHash.ts): checked and written as 0x + 64 lowercase hex.
import { bytesToHex, type Hex, hexToBytes } from './hex.ts'

declare const kind: unique symbol

/** What a job is, as the chain records it (specHash.ts hashes it): never a job id (gatewayJobId.ts, chainJobId.ts) nor any other hash. */
export type SpecHash = Hex & { readonly [kind]: 'SpecHash' }

/** 0x + 64 hex digits of any case, as the SpecHash that value is; throws HEX_INVALID otherwise. */
export function parseSpecHash(value: string): SpecHash {
  return bytesToHex(hexToBytes(value, { length: 32, what: 'spec hash' })) as SpecHash
}
