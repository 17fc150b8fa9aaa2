// Staking at start-up: top the worker's stake up to the target and register its libp2p peer id on
// chain (the gateway maps a slot's address to the peer that serves the result through it).
import { formatEther, type Hex } from 'viem'
import type { WorkerChain } from './workerChain.ts'
import { WorkerError } from './workerError.ts'
import type { WorkerLog } from './workerLog.ts'

export type EnsureStakeParameters = {
  chain: WorkerChain
  /** Stake to hold (wei); nothing is sent when the stake already reaches it. */
  target: bigint
  /** The binary libp2p peer id (its multihash bytes). */
  peerId: Hex
  log: WorkerLog
}

export type EnsureStakeReturnType = { staked: bigint; free: bigint; tx: string | null }

// Gas for a stake transaction on any EVM chain, with a wide margin at dev-chain gas prices.
const gasReserve = 10n ** 16n

export async function ensureStake({ chain, target, peerId, log }: EnsureStakeParameters): Promise<EnsureStakeReturnType> {
  const [account, registered] = await Promise.all([chain.getAccount(), chain.getPeerId()])
  const missing = target > account.staked ? target - account.staked : 0n
  const peerIdChanged = registered.toLowerCase() !== peerId.toLowerCase()
  if (missing === 0n && !peerIdChanged) return { staked: account.staked, free: account.free, tx: null }
  // stake() needs a non-zero value; one wei re-registers a changed peer id.
  const value = missing === 0n ? 1n : missing
  const balance = await chain.walletBalance()
  if (balance < value + gasReserve) {
    throw new WorkerError(
      'NOT_FUNDED',
      `Account ${chain.address} holds ${formatEther(balance)} ETH but needs ${formatEther(value + gasReserve)} ETH to stake ${formatEther(value)} ETH and pay gas; send ETH to it or lower --stake.`,
    )
  }
  const { hash } = await chain.stake({ value, peerId })
  const after = await chain.getAccount()
  log('stake deposited', { address: chain.address, addedWei: value, stakedWei: after.staked, tx: hash })
  return { staked: after.staked, free: after.free, tx: hash }
}
