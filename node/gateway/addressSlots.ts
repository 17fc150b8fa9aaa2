// What one client address (an IPv4 address, an IPv6 /64) may hold at once: concurrent reads of
// logs and outputs, live log viewers, /verify uploads. Each held slot is a bounded amount of the
// service's memory, so a client that opens many and never reads them meets a 429 instead of
// growing the service. A slot is taken before the work and given back when the connection's
// answer is over, however it ends.
import type { FastifyRequest } from 'fastify'
import { clientAddressKey } from './clientAddressKey.ts'
import { GatewayError } from './gatewayError.ts'

export type AddressSlotsParameters = {
  /** Slots one address may hold. */
  perAddress: number
  /** Slots all addresses together may hold (default: no total). */
  total?: number | undefined
  /** What a slot is, for the 429 message ("concurrent reads"). */
  what: string
}

export type AddressSlots = {
  /**
   * Takes a slot for this request's address, given back when `until` closes (the response, or
   * the socket of an upgraded connection); throws a 429 GatewayError when none is left.
   */
  hold(request: FastifyRequest, until: { once(event: 'close', listener: () => void): unknown }): void
  /** Whether this socket address holds all the slots one address may. */
  addressFull(address: string): boolean
  /** Slots held now, all addresses together. */
  readonly held: number
}

/**
 * A refusal is the expected answer to a flood, not a bug: no stack trace is captured for it. Under
 * a flood of 20,000 WebSocket clients, capturing the stack (deep in fastify's hooks) of each of
 * ~265,000 refusals took 4 % of the service's CPU (docs/BENCHMARKS.md, hostile soak).
 */
function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return make()
  } finally {
    Error.stackTraceLimit = limit
  }
}

export function createAddressSlots({ perAddress, total = Number.POSITIVE_INFINITY, what }: AddressSlotsParameters): AddressSlots {
  const byAddress = new Map<string, number>()
  let held = 0
  return {
    hold(request, until) {
      const key = clientAddressKey(request.ip)
      const mine = byAddress.get(key) ?? 0
      if (mine >= perAddress || held >= total) {
        throw withoutStack(
          () =>
            new GatewayError('RATE_LIMITED', 'Rate limit exceeded', {
              reason: mine >= perAddress ? `Too many ${what} from this address (${perAddress} at once); wait for one to finish.` : `Too many ${what} on this service right now; try again shortly.`,
              retryAfterSeconds: 1,
            }),
        )
      }
      byAddress.set(key, mine + 1)
      held++
      let given = false
      until.once('close', () => {
        if (given) return
        given = true
        held--
        const left = (byAddress.get(key) ?? 1) - 1
        if (left > 0) byAddress.set(key, left)
        else byAddress.delete(key)
      })
    },
    addressFull(address) {
      return (byAddress.get(clientAddressKey(address)) ?? 0) >= perAddress
    },
    get held() {
      return held
    },
  }
}
