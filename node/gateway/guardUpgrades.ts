// Refuses a WebSocket upgrade from an address that already holds every log viewer it may, on the
// raw socket, before the request goes through fastify's router, hooks, error handler and reply.
// Under the hostile soak's flood (hundreds of addresses, each retrying dozens of refused viewers
// every few seconds) that path took about a sixth of the service's CPU (docs/BENCHMARKS.md). The
// route still takes the slot, and refuses with the same answer whatever slips past this check.
import type { IncomingMessage, Server } from 'node:http'
import type { Socket } from 'node:net'
import type { AddressSlots } from './addressSlots.ts'
import { type ConnectionGuard, refusal } from './connectionGuard.ts'

export function guardUpgrades(server: Server, viewers: AddressSlots, guard: ConnectionGuard, { perAddress }: { perAddress: number }): void {
  const response = refusal(429, { error: 'Rate limit exceeded', reason: `Too many log viewers from this address (${perAddress} at once); wait for one to finish.` }, 1)
  const upgradeListeners = server.listeners('upgrade') as Array<(request: IncomingMessage, socket: Socket, head: Buffer) => void>
  server.removeAllListeners('upgrade')
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    if (viewers.addressFull(socket.remoteAddress ?? '')) return guard.refuse(socket, response)
    for (const listener of upgradeListeners) listener.call(server, request, socket, head)
  })
}
