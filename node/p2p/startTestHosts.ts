// Test and benchmark helper: N real libp2p hosts on 127.0.0.1 with ephemeral keys, connected as
// asked, and one call that stops them all. Waits on connection events, never on timers.
import { createHost, type CreateHostParameters, type SandrunHost } from './createHost.ts'

export type StartTestHostsParameters = {
  count: number
  /** Pairs [i, j] to connect (i dials j); default: every host dials every earlier one (full mesh). */
  links?: Array<[number, number]>
  options?: CreateHostParameters
}

export type StartTestHostsReturnType = {
  hosts: SandrunHost[]
  stop(): Promise<void>
}

function connectedTo(host: SandrunHost, peerId: string): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (host.libp2p.getConnections().some((connection) => connection.remotePeer.toString() === peerId && connection.status === 'open')) {
        host.libp2p.removeEventListener('connection:open', check)
        resolve()
      }
    }
    host.libp2p.addEventListener('connection:open', check)
    check()
  })
}

export async function startTestHosts({ count, links, options = {} }: StartTestHostsParameters): Promise<StartTestHostsReturnType> {
  const hosts = await Promise.all(Array.from({ length: count }, () => createHost(options)))
  const pairs = links ?? hosts.flatMap((_, i) => hosts.slice(0, i).map((__, j): [number, number] => [i, j]))
  for (const [i, j] of pairs) {
    const [dialer, target] = [hosts[i]!, hosts[j]!]
    const accepted = connectedTo(target, dialer.libp2p.peerId.toString())
    await dialer.dial(target.multiaddrs()[0]!)
    // dial() returns when the dialer is upgraded; the other side may still be finishing its upgrade.
    await accepted
  }
  return {
    hosts,
    async stop() {
      await Promise.all(hosts.map((host) => host.stop()))
    },
  }
}
