// Maps a worker's eth address (what the chain knows) to its libp2p peer (what can be dialled):
// first the heartbeat registry, then the peer id bytes the worker staked with, matched against the
// peers this node knows (multihash bytes) or read as a peer id string.
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Address, Hex } from 'viem'
import type { SandrunLibp2p, WorkersSeen } from '../../p2p/index.ts'

export type ResolveWorkerPeerParameters = {
  address: string
  libp2p: Pick<SandrunLibp2p, 'getConnections' | 'peerStore'>
  workersSeen: Pick<WorkersSeen, 'list'>
  getPeerId: (address: Address) => Promise<Hex>
}

export async function resolveWorkerPeer({ address, libp2p, workersSeen, getPeerId }: ResolveWorkerPeerParameters): Promise<PeerId | null> {
  const lower = address.toLowerCase()
  const seen = workersSeen.list().find((worker) => worker.address === lower)
  if (seen) {
    try {
      return peerIdFromString(seen.peerId)
    } catch {
      // A heartbeat's peer id was checked against its signer; fall through to the chain anyway.
    }
  }
  const staked = (await getPeerId(address as Address).catch(() => '0x')).toLowerCase()
  if (staked === '0x') return null
  const matches = (peer: PeerId): boolean => `0x${Buffer.from(peer.toMultihash().bytes).toString('hex')}` === staked
  for (const connection of libp2p.getConnections()) if (matches(connection.remotePeer)) return connection.remotePeer
  for (const peer of await libp2p.peerStore.all()) if (matches(peer.id)) return peer.id
  try {
    return peerIdFromString(Buffer.from(staked.slice(2), 'hex').toString('utf8'))
  } catch {
    return null
  }
}
