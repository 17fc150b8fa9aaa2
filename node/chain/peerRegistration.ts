// The binding between a staking account and the libp2p peer that serves its results: the peer's
// Ed25519 key signs "sandrun-peer-v1" || uint256 chainId || market || account, and registerPeer
// stores that signature next to the peer id. The contract does not check it (Ed25519 costs too much
// on chain); gateways and workers check it off chain and ignore a mapping that fails.
import { encodePacked, hexToBytes, type Address, type Hex } from 'viem'

export const peerRegistrationDomain = 'sandrun-peer-v1'

export type PeerRegistrationParameters = { chainId: number; market: Address; account: Address }

/** The exact bytes the peer key signs. */
export function peerRegistrationMessage({ chainId, market, account }: PeerRegistrationParameters): Uint8Array {
  return hexToBytes(encodePacked(['string', 'uint256', 'address', 'address'], [peerRegistrationDomain, BigInt(chainId), market, account]))
}

export type PeerRegistration = { peerId: Hex; signature: Hex }
