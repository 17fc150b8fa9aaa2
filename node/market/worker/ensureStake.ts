// Staking at start-up: top the worker's stake up to the target, and register its libp2p peer id
// on chain with the peer key's signature over (chain, market, account), so gateways can map a
// slot's address to the peer that serves the result and nobody can claim that peer for themselves.
import { formatEther, type Hex } from 'viem'
import { signPeerRegistration } from '../../chain/signPeerRegistration.ts'
import { verifyPeerRegistration } from '../../chain/verifyPeerRegistration.ts'
import type { WorkerKey } from '../../../verifier/index.ts'
import type { WorkerChain } from './workerChain.ts'
import { WorkerError } from './workerError.ts'
import type { WorkerLog } from './workerLog.ts'

export type EnsureStakeParameters = {
  chain: WorkerChain
  /** Stake to hold (wei); nothing is sent when the stake already reaches it. */
  target: bigint
  /** The binary libp2p peer id (its multihash bytes). */
  peerId: Hex
  /** The worker key, which is also the libp2p key: it signs the peer registration. */
  workerKey: Pick<WorkerKey, 'privateKey'>
  log: WorkerLog
}

export type EnsureStakeReturnType = { staked: bigint; free: bigint; tx: string | null }

// Gas for a stake and a registration on any EVM chain, with a wide margin at dev-chain gas prices.
const gasReserve = 10n ** 16n

export async function ensureStake({ chain, target, peerId, workerKey, log }: EnsureStakeParameters): Promise<EnsureStakeReturnType> {
  const [account, registered] = await Promise.all([chain.getAccount(), chain.getPeer()])
  const binding = { chainId: chain.chainId, market: chain.market, account: chain.address }
  const peerRegistered = registered.peerId.toLowerCase() === peerId.toLowerCase() && verifyPeerRegistration({ ...binding, registration: registered }) !== null
  const missing = target > account.staked ? target - account.staked : 0n
  if (missing === 0n && peerRegistered) return { staked: account.staked, free: account.free, tx: null }
  const balance = await chain.walletBalance()
  if (balance < missing + gasReserve) {
    throw new WorkerError(
      'NOT_FUNDED',
      `Account ${chain.address} holds ${formatEther(balance)} ETH but needs ${formatEther(missing + gasReserve)} ETH to stake ${formatEther(missing)} ETH and pay gas; send ETH to it or lower --stake.`,
    )
  }
  let tx: string | null = null
  if (!peerRegistered) {
    const { hash } = await chain.registerPeer({ peerId, signature: signPeerRegistration({ ...binding, workerKey }) })
    log('peer registered', { address: chain.address, tx: hash })
    tx = hash
  }
  if (missing > 0n) {
    const { hash } = await chain.stake({ value: missing })
    tx = hash
  }
  const after = await chain.getAccount()
  if (missing > 0n) log('stake deposited', { address: chain.address, addedWei: missing, stakedWei: after.staked, tx })
  return { staked: after.staked, free: after.free, tx }
}
