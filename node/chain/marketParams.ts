// Deploy-time economics of a market deployment, their defaults (reasons in docs/contracts.md)
// and parsing of `--params key=value,...` overrides.
import { parseEther } from 'viem'
import { ChainError } from './errors.ts'

export type MarketParams = {
  minCollateral: bigint
  collateralMultiplier: bigint
  unbondingPeriod: bigint
  minCommitWindow: bigint
  maxCommitWindow: bigint
  minRevealWindow: bigint
  maxRevealWindow: bigint
}

export const defaultMarketParams: MarketParams = {
  // A floor so that cheap jobs still put something real at stake for a lazy guess.
  minCollateral: parseEther('0.01'),
  // Collateral 3x the reward: a worker who skips the work to guess saves at most the reward and
  // risks three rewards, so guessing only pays if it beats 75% accuracy against an honest majority.
  collateralMultiplier: 3n,
  // Stake stays slashable for a week after unstaking is requested, long enough for off-chain
  // evidence (e.g. a future fraud proof) to surface; open jobs lock their collateral anyway.
  unbondingPeriod: 7n * 24n * 3600n,
  // Windows: a minute is the least that survives block times and RPC latency; a day is the most
  // a requester's escrow and workers' collateral should sit idle in one job.
  minCommitWindow: 60n,
  maxCommitWindow: 24n * 3600n,
  minRevealWindow: 60n,
  maxRevealWindow: 24n * 3600n,
}

export const marketParamNames = Object.keys(defaultMarketParams) as (keyof MarketParams)[]

/** Parse `minCollateral=0.02eth,unbondingPeriod=3600` (wei or `<n>eth` amounts, seconds) over the defaults. */
export function parseMarketParams(text: string | undefined, base: MarketParams = defaultMarketParams): MarketParams {
  const params = { ...base }
  if (!text) return params
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, raw] = pair.split('=').map((p) => p.trim())
    if (!key || raw === undefined || !(marketParamNames as string[]).includes(key)) {
      throw new ChainError('PARAMS_INVALID', `unknown market parameter in "${pair}"; use key=value with key one of ${marketParamNames.join(', ')}.`)
    }
    let value: bigint
    try {
      value = raw.endsWith('eth') ? parseEther(raw.slice(0, -3)) : BigInt(raw)
    } catch (cause) {
      throw new ChainError('PARAMS_INVALID', `"${raw}" is not a number for ${key}; use an integer (wei or seconds) or an amount like 0.01eth.`, { cause })
    }
    if (value < 0n) throw new ChainError('PARAMS_INVALID', `${key} must not be negative.`)
    params[key as keyof MarketParams] = value
  }
  return params
}
