// Reads the slots of one market job (worker, round, revealed root, outcome) and names outcomes.
// Before a reveal the contract returns the truncated seal as `root`; it is never shown as a root.
import type { Address, Hex, PublicClient } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import type { ChainJobId } from '../chainJobId.ts'

/** SlotOutcome of contracts/src/MarketTypes.sol, in enum order. */
export const slotOutcomes = ['Empty', 'Committed', 'Revealed', 'Won', 'Dissented', 'NotRevealed', 'Released'] as const
export type SlotOutcomeName = (typeof slotOutcomes)[number]

export type MarketSlot = {
  index: number
  /** 0 for the first committee, 1 for the escalation committee. */
  round: number
  worker: Address | null
  committed: boolean
  revealed: boolean
  /** The revealed result root; null before reveal (the stored value is then the seal's top 224 bits). */
  revealedRoot: Hex | null
  outcome: SlotOutcomeName
  /** True when the worker lost its collateral in this job. */
  slashed: boolean
}

export type ReadMarketSlotsParameters = { market: Address; jobId: ChainJobId }

const zeroAddress = '0x0000000000000000000000000000000000000000'

export async function readMarketSlots(client: PublicClient, { market, jobId }: ReadMarketSlotsParameters): Promise<MarketSlot[]> {
  const slots = await client.readContract({ address: market, abi: sandrunMarketAbi, functionName: 'getSlots', args: [jobId] })
  return slots.map((slot, index) => {
    const outcome = slotOutcomes[slot.outcome] ?? 'Empty'
    return {
      index,
      round: slot.round,
      worker: slot.worker === zeroAddress ? null : slot.worker,
      committed: slot.committed,
      revealed: slot.revealed,
      revealedRoot: slot.revealed ? slot.root : null,
      outcome,
      slashed: outcome === 'Dissented' || outcome === 'NotRevealed',
    }
  })
}
