// Forwards TCP connections from one address to another, both in this process's namespace: lets
// hosts in test namespaces reach anvil (which listens on 127.0.0.1 only) through the bridge address.
import { createServer, connect, type Socket } from 'node:net'

export type TcpRelay = {
  port: number
  close(): Promise<void>
}

export async function startTcpRelay({ host, target }: { host: string; target: { host: string; port: number } }): Promise<TcpRelay> {
  const sockets = new Set<Socket>()
  const server = createServer((inbound) => {
    const outbound = connect(target.port, target.host)
    for (const socket of [inbound, outbound]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      // A cut-off host leaves its socket hanging; the other side is closed with it.
      socket.on('error', () => (socket === inbound ? outbound : inbound).destroy())
    }
    inbound.pipe(outbound).pipe(inbound)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the relay has no TCP address')
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
