// Who this node talks to: a deny-list of peer ids (peers caught cheating or flooding) and, on public
// networks, a refusal to dial private, loopback and link-local addresses, so a peer advertising
// 10.0.0.1 cannot make every worker probe its operator's LAN.
import { BlockList, isIP } from 'node:net'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type CreateConnectionGaterParameters = {
  /** Peer ids (string form) never to connect to or accept; the set is read live, so it can grow. */
  deniedPeers: ReadonlySet<string>
  /** Refuse to dial non-public IP addresses (off for loopback tests and LANs). */
  refusePrivateAddresses: boolean
}

const privateRanges = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv6')
}

/** True for loopback, private, CGNAT, link-local and unspecified IPs. */
export function isPrivateIp(ip: string): boolean {
  const family = isIP(ip)
  if (family === 4) return privateRanges.check(ip, 'ipv4')
  if (family === 6) return privateRanges.check(ip, 'ipv6')
  return false
}

function ipOf(multiaddr: Multiaddr): string | undefined {
  for (const component of multiaddr.getComponents()) {
    if ((component.name === 'ip4' || component.name === 'ip6') && component.value !== undefined) return component.value
  }
  return undefined
}

export function createConnectionGater({ deniedPeers, refusePrivateAddresses }: CreateConnectionGaterParameters): ConnectionGater {
  const denied = (peerId: PeerId): boolean => deniedPeers.has(peerId.toString())
  return {
    denyDialPeer: denied,
    denyDialMultiaddr(multiaddr) {
      if (!refusePrivateAddresses) return false
      const ip = ipOf(multiaddr)
      return ip !== undefined && isPrivateIp(ip)
    },
    denyInboundEncryptedConnection: denied,
    denyOutboundEncryptedConnection: denied,
    denyInboundUpgradedConnection: denied,
    denyOutboundUpgradedConnection: denied,
  }
}
