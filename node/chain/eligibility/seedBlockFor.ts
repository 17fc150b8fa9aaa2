// Mirror of SandrunMarket.seedBlockFor: which block's hash seeds a round for a commit in a given
// block (the seed block while blockhash reaches it, then the latest anchor 256 k blocks later).
import { eligibilityRules } from './eligibilityRules.ts'

export function seedBlockFor(seedBlock: bigint, blockNumber: bigint): bigint {
  const depth = eligibilityRules.blockhashDepth
  if (blockNumber - seedBlock <= depth) return seedBlock
  return seedBlock + depth * ((blockNumber - 1n - seedBlock) / depth)
}
