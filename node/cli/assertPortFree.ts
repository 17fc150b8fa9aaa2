// Checks that a TCP port can be listened on before a command starts anything that takes time or
// holds resources (a sandbox, anvil, libp2p), so a taken port is one clear line and an exit, not a
// half-started service that lingers.
import { createServer } from 'node:net'
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

const portErrorCodes: ErrorCodeTable<'PORT_IN_USE'> = { PORT_IN_USE: hostError }

export class PortInUseError extends SandrunError<'PORT_IN_USE'> {
  override name = 'PortInUseError'

  constructor(message: string) {
    super('PORT_IN_USE', message, portErrorCodes)
  }
}

export async function assertPortFree({ host, port, flag = '--port' }: { host: string; port: number; flag?: string }): Promise<void> {
  if (port === 0) return
  await new Promise<void>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new PortInUseError(`Port ${port} on ${host} is already in use (another sandrun, or another program). Stop that one, or pick another port with ${flag} <n>.`))
      else if (error.code === 'EACCES') reject(new PortInUseError(`Port ${port} on ${host} needs privileges this user lacks; pick a port above 1023 with ${flag} <n>.`))
      else reject(error)
    })
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()))
  })
}
