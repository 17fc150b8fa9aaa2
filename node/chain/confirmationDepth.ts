// How many blocks deep a settlement must be before a gateway calls its job completed, per chain: a
// reorg above that depth could still undo the finalize (and with it the consensus root the result
// was checked against). `--confirmations` overrides it; docs/network.md explains the choice.

/** Blocks on top of (and including) the settling block; 0 accepts the settlement as soon as it is seen. */
export const defaultConfirmations: Readonly<Record<number, number>> = {
  // anvil / hardhat dev chains: nobody reorganises them but the test that owns them.
  31337: 0,
  // Ethereum L1 and its testnets, 12 s blocks: every reorg since the merge was 1-2 blocks deep; 12
  // blocks (2.4 min) is the usual exchange margin. Full finality (2 epochs, ~13 min) is 64+.
  1: 12,
  11155111: 12,
  17000: 12,
  560048: 12,
  // OP Stack (OP Mainnet, Base and their Sepolia testnets), 2 s blocks: the sequencer's unsafe head
  // reorganises only when its batch fails to land on L1; 10 blocks is 20 s.
  10: 10,
  8453: 10,
  11155420: 10,
  84532: 10,
  // Arbitrum One and Arbitrum Sepolia, 0.25 s blocks: 20 blocks is 5 s past the sequencer's feed.
  42161: 20,
  421614: 20,
}

/** A chain not in the table: L1's margin, the most careful of those above. */
export const unknownChainConfirmations = 12

/** The confirmation depth for `chainId`: the operator's `override` when given, else the table's. */
export function confirmationDepth(chainId: number, override?: number | undefined): number {
  if (override !== undefined) return override
  return defaultConfirmations[chainId] ?? unknownChainConfirmations
}
