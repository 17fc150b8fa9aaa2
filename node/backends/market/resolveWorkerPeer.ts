// Maps a worker's eth address (what the chain knows) to its libp2p peer (what can be dialled): the
// peer id the account registered on chain, but only when the peer key's signature binds it to this
// chain, market and account. A heartbeat's claimed address binds nothing, and anybody can register
// somebody else's peer id, so both are ignored without that signature.
import type { PeerId } from '@libp2p/interface'
import type { Address } from 'viem'
import type { PeerRegistration } from '../../chain/peerRegistration.ts'
import { verifyPeerRegistration } from '../../chain/verifyPeerRegistration.ts'

export type ResolveWorkerPeerParameters = {
  address: Address
  chainId: number
  market: Address
  getPeer: (address: Address) => Promise<PeerRegistration>
}

/** null when the account registered no valid peer; throws when the chain could not be read (try again). */
export async function resolveWorkerPeer({ address, chainId, market, getPeer }: ResolveWorkerPeerParameters): Promise<PeerId | null> {
  const registration = await getPeer(address)
  return verifyPeerRegistration({ chainId, market, account: address, registration })
}
