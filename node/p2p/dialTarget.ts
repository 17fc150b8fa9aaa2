// Peers reach the protocol clients as multiaddr strings (from announcements, config, /pool), as
// parsed multiaddrs or as peer ids already in the peer store; this turns any of them into what
// libp2p dials, with a typed error for a malformed address.
import type { DialTarget, PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { P2pError } from './errors.ts'

export type PeerTarget = string | Multiaddr | PeerId

export function dialTarget(peer: PeerTarget): DialTarget {
  if (typeof peer !== 'string') return peer
  try {
    return multiaddr(peer)
  } catch (error) {
    throw new P2pError('INVALID_ARGUMENT', `"${peer}" is not a multiaddr; use e.g. /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...`, {
      cause: error,
    })
  }
}
