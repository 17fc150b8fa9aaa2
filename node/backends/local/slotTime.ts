// How long each client's jobs held one of the service's slots in the last minute. A slot stands
// for a core, and jobs that hold one without computing much (trickling output, sleeping beyond the
// idle lenders' cap, streaming to viewers for the whole soak) keep other clients' jobs waiting as
// surely as a CPU hog: the queue weighs clients by CPU and slot time together.
import type { Clock } from '../../clock/systemClock.ts'

export type SlotTime = {
  /** Charges `seconds` of slot time to the client, now. */
  charge(clientId: string, seconds: number): void
  /** Slot seconds charged to the client within the window. */
  used(clientId: string): number
}

type Charges = { entries: Array<{ at: number; seconds: number }>; total: number }

export function createSlotTime({ clock, windowMs = 60_000 }: { clock: Clock; windowMs?: number }): SlotTime {
  const clients = new Map<string, Charges>()
  let lastSweep = clock.now()

  /** The client's charges within the window (forgotten once none is left). */
  const current = (clientId: string, at: number): Charges | undefined => {
    const charges = clients.get(clientId)
    if (!charges) return undefined
    while (charges.entries.length > 0 && charges.entries[0]!.at <= at - windowMs) charges.total -= charges.entries.shift()!.seconds
    if (charges.entries.length > 0) return charges
    clients.delete(clientId)
    return undefined
  }

  return {
    charge(clientId, seconds) {
      const at = clock.now()
      // Clients that stopped submitting are forgotten once a window went by.
      if (at - lastSweep >= windowMs) {
        lastSweep = at
        for (const id of [...clients.keys()]) current(id, at)
      }
      if (!(seconds > 0)) return
      const charges = current(clientId, at) ?? { entries: [], total: 0 }
      charges.entries.push({ at, seconds })
      charges.total += seconds
      clients.set(clientId, charges)
    },
    used(clientId) {
      return current(clientId, clock.now())?.total ?? 0
    },
  }
}
