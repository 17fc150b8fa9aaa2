// Mirror of SandrunMarket._roundSeed: a round's seed is the low 88 bits of its seed block's hash
// (or of the anchor past 256 blocks: seedBlockFor), with the lowest bit set; the round's first
// commit stores it, and getJob then returns it.
import { pad, toHex, type Hex } from 'viem'

const low88 = (1n << 88n) - 1n

export type RoundSeedParameters = {
  /** getJob's `seed`: the stored seed, or zero before the round's first commit. */
  stored: Hex
  /** Hash of seedBlockFor(seedBlock, commit block), used while nothing is stored. */
  blockHash: () => Promise<Hex>
}

export async function roundSeed({ stored, blockHash }: RoundSeedParameters): Promise<Hex> {
  if (BigInt(stored) !== 0n) return stored
  return pad(toHex((BigInt(await blockHash()) & low88) | 1n), { size: 32 })
}
