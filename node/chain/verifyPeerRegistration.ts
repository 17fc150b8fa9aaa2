// Checks a registered (peer id, signature) pair: the peer id must be an Ed25519 libp2p peer id
// (the identity multihash of its public key) whose key signed the binding of this chain, market and
// account. Anything else is a mapping to ignore.
import { ed25519 } from '@noble/curves/ed25519.js'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { bytesToHex, hexToBytes } from 'viem'
import { peerRegistrationMessage, type PeerRegistration, type PeerRegistrationParameters } from './peerRegistration.ts'

export type VerifyPeerRegistrationParameters = PeerRegistrationParameters & { registration: PeerRegistration }

/** identity multihash (0x00, length 36) of the protobuf PublicKey {Type: Ed25519, Data: 32 bytes}. */
const ed25519PeerIdPrefix = '0x0024080112' + '20'

/** The registered peer when its signature checks; null for a missing, malformed or forged mapping. */
export function verifyPeerRegistration({ registration, ...binding }: VerifyPeerRegistrationParameters): PeerId | null {
  try {
    const peerId = hexToBytes(registration.peerId)
    if (peerId.length !== 38 || bytesToHex(peerId.subarray(0, 6)) !== ed25519PeerIdPrefix) return null
    const publicKey = peerId.subarray(6)
    const signature = hexToBytes(registration.signature)
    if (signature.length !== 64 || !ed25519.verify(signature, peerRegistrationMessage(binding), publicKey)) return null
    return peerIdFromPublicKey(publicKeyFromRaw(publicKey))
  } catch {
    return null
  }
}
