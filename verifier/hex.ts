// Hex encoding for everything the verifier hashes: roots and hashes travel as 0x-prefixed lowercase
// hex so they go on chain as bytes32 unchanged and compare as plain strings.
import { VerifierError } from './errors.ts'

export type Hex = `0x${string}`

export function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}

export type HexToBytesParameters = {
  /** Expected length in bytes. */
  length: number
  /** What the value is, for the error message ("result root"). */
  what: string
  /** Accept a value without the 0x prefix (sha256 sums from sha256sum or node:crypto). */
  allowBare?: boolean
}

const hexDigits = /^[0-9a-fA-F]*$/

/** Decodes `0x` + 2*length hex digits (any case); throws HEX_INVALID otherwise. */
export function hexToBytes(value: string, { length, what, allowBare = false }: HexToBytesParameters): Uint8Array {
  const digits = allowBare && !value.startsWith('0x') ? value : value.slice(2)
  if ((!allowBare && !value.startsWith('0x')) || digits.length !== length * 2 || !hexDigits.test(digits)) {
    throw new VerifierError('HEX_INVALID', `The ${what} must be 0x followed by ${length * 2} hex digits.`, {
      details: `got ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`,
    })
  }
  return Uint8Array.from(Buffer.from(digits, 'hex'))
}

/** A sha256 sum in the form the commitment uses (0x + lowercase), from bare or 0x hex of any case. */
export function normalizeSha256(value: string, what: string): Hex {
  return bytesToHex(hexToBytes(value, { length: 32, what, allowBare: true }))
}
