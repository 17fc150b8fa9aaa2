// Signs a peer registration (peerRegistration.ts) with the worker key, which is also the libp2p key.
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, type Hex } from 'viem'
import type { WorkerKey } from '../../verifier/index.ts'
import { peerRegistrationMessage, type PeerRegistrationParameters } from './peerRegistration.ts'

export type SignPeerRegistrationParameters = PeerRegistrationParameters & { workerKey: Pick<WorkerKey, 'privateKey'> }

export function signPeerRegistration({ workerKey, ...binding }: SignPeerRegistrationParameters): Hex {
  return bytesToHex(ed25519.sign(peerRegistrationMessage(binding), workerKey.privateKey))
}
