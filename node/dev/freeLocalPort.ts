// A TCP port on 127.0.0.1 that nothing listens on right now: the OS picks it, the probe closes it.
// For addresses that must be known before their process starts (the dev gateway's libp2p port, which
// its workers bootstrap from while it is still starting).
import { createServer } from 'node:net'

export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
