// Sends a signed transaction so that a lost answer never makes it go out twice with another nonce:
// the transaction is signed before it leaves (accountTransactions.ts), so its hash is known, and a
// send whose answer was lost (dropped connection, timeout, then a retry told "already known" or
// "nonce too low") counts as sent once the chain knows that hash. Retrying the same bytes costs nothing.
import { keccak256, type Hash, type Hex, type PublicClient, type WalletClient } from 'viem'

export type SendOnceParameters = {
  walletClient: WalletClient
  publicClient: PublicClient
  serializedTransaction: Hex
}

const maxSendAttempts = 6
const retryDelayMs = 250
// What the node says of a transaction it will never take as it is; anything else (429, 5xx, a
// timeout, a dropped connection) may pass on a resend.
const permanent = /nonce too (low|high)|insufficient funds|intrinsic gas|underpriced|gas limit|invalid|reverted|already known|already imported/i

/** Whether the node refused the transaction for good (a resend of the same bytes gets the same answer). */
export function refusedForGood(error: unknown): boolean {
  const e = error as { details?: unknown; shortMessage?: unknown; message?: unknown }
  return permanent.test(`${String(e.details ?? '')} ${String(e.shortMessage ?? e.message ?? '')}`)
}

export async function sendOnce({ walletClient, publicClient, serializedTransaction }: SendOnceParameters): Promise<Hash> {
  const hash = keccak256(serializedTransaction)
  // viem never retries eth_sendRawTransaction itself: the same bytes are resent here, with backoff.
  for (let attempt = 1; ; attempt++) {
    try {
      await walletClient.sendRawTransaction({ serializedTransaction })
      return hash
    } catch (error) {
      const known = await publicClient.getTransaction({ hash }).then(
        () => true,
        () => false,
      )
      if (known) return hash
      if (attempt >= maxSendAttempts || refusedForGood(error)) throw error
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs * 2 ** (attempt - 1)))
    }
  }
}
