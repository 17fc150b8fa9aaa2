// The setting the simulation reports on: the deployment's and the gateway's default parameters, a
// public network of 100 equal honest workers and an attacker that splits its stake over 32
// addresses (more than it could ever use in one job) and commits the moment it may.
import { defaultMarketParams } from '../../node/chain/marketParams.ts'
import { defaultMarketBackendOptions } from '../../node/backends/market/marketBackendOptions.ts'

export const simulationDefaults = {
  honestWorkers: 100,
  attackerAccounts: 32,
  window: defaultMarketBackendOptions.commitWindowSeconds,
  // A small job: fetching, running and committing take a couple of seconds.
  honestRunSeconds: 2,
  ties: 'attacker' as const,
  rewardWei: defaultMarketBackendOptions.rewardWei,
  minCollateralWei: defaultMarketParams.minCollateral,
  collateralMultiplier: defaultMarketParams.collateralMultiplier,
}
