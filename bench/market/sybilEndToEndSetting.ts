// The setting of the end to end sybil test (test/market/sybil.test.ts), shared with the
// simulation so the test checks its count of forged finalizations against this very model.
import type { SimulateSettingParameters } from './simulateSetting.ts'
import { simulationDefaults } from './simulationDefaults.ts'

export type SybilEndToEndSetting = {
  jobs: number
  description: string
  setting: Omit<SimulateSettingParameters, 'trials' | 'random'>
  /** Stake each worker holds (wei): honest workers, and each of the operator's three liars. */
  honestStakeWei: bigint
  liarStakeWei: bigint
  /** The commit window the test's gateway posts with (s); the chain clock moves only when the test says. */
  window: number
}

const gwei = 10n ** 9n
const honestStakeWei = 2n * 10n ** 18n
const liarStakeWei = 10n ** 18n

export function sybilEndToEndSetting(jobs = 30): SybilEndToEndSetting {
  const window = 600
  return {
    jobs,
    description: `9 workers: 6 honest with 2 ETH of stake each, and one operator's 3 liars with 1 ETH each (20 % of the stake) that always reveal the same forged root; ${jobs} jobs of 3 replicas, a ${window} s commit window on a chain whose clock moves only when the test moves it (so nobody is faster than anybody)`,
    setting: {
      ...simulationDefaults,
      share: 0.2,
      replicas: 3,
      honestWorkers: 6,
      attackerAccounts: 3,
      window,
      honestRunSeconds: 0,
      stakes: { honestGwei: honestStakeWei / gwei, attackerGwei: liarStakeWei / gwei },
    },
    honestStakeWei,
    liarStakeWei,
    window,
  }
}
