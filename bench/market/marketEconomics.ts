// The market's collateral rule (SandrunMarket.collateralFor) for the simulation's payoffs.
import { escalationSlots } from '../../node/chain/eligibility/index.ts'

export type CollateralForParameters = { reward: bigint; replicas: number; minCollateral: bigint; multiplier: bigint }

/** max(minCollateral, reward x max(multiplier, escalation slots)), rounded up to a whole gwei. */
export function collateralFor({ reward, replicas, minCollateral, multiplier }: CollateralForParameters): bigint {
  const multiple = BigInt(escalationSlots(replicas)) > multiplier ? BigInt(escalationSlots(replicas)) : multiplier
  const scaled = reward * multiple
  const collateral = scaled > minCollateral ? scaled : minCollateral
  return ((collateral + 10n ** 9n - 1n) / 10n ** 9n) * 10n ** 9n
}
