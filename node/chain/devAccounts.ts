// Anvil's dev accounts, derived at run time from the mnemonic Foundry publishes for local chains.
// For tests, benchmarks and the single-machine demo only: every key here is public knowledge.
import { mnemonicToAccount, type HDAccount } from 'viem/accounts'

export const ANVIL_DEV_MNEMONIC = 'test test test test test test test test test test test junk'

export function devAccounts(count: number): HDAccount[] {
  return Array.from({ length: count }, (_, addressIndex) => mnemonicToAccount(ANVIL_DEV_MNEMONIC, { addressIndex }))
}
