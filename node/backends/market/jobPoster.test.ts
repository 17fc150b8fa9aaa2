// The gateway's job poster on a real anvil and market: submissions that arrive while a post is in
// flight go on chain together in one postJobs, each with its own id; an invalid one in a batch fails
// alone and the others are still posted.
import { keccak256, parseEther, parseEventLogs, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../../contracts/abi.ts'
import { startAnvil, type StartAnvilReturnType } from '../../chain/anvil.ts'
import { deployMarket } from '../../chain/deployMarket.ts'
import { devAccounts } from '../../chain/devAccounts.ts'
import { MarketRevertError } from '../../chain/errors.ts'
import { createMarketClient, type MarketClient } from '../../chain/marketClient.ts'
import { jobPoster } from './jobPoster.ts'
import { parseSpecHash } from '../../../verifier/index.ts'

let anvil: StartAnvilReturnType
let market: MarketClient

beforeAll(async () => {
  anvil = await startAnvil({ accounts: 1 })
  const [owner] = devAccounts(1)
  const deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: owner!, pollingInterval: 20 })
  market = createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account: owner!, pollingInterval: 20 })
})
afterAll(async () => {
  await anvil?.stop()
})

const job = (n: number, quorum = 2) => ({
  specHash: parseSpecHash(keccak256(toHex(`spec ${n}`))),
  replicas: 3,
  quorum,
  commitWindow: 600,
  revealWindow: 600,
  reward: parseEther('0.001'),
})

/** The spec hash each job id was posted with, read back from the chain. */
async function specHashes(hash: `0x${string}`): Promise<Map<bigint, string>> {
  const receipt = await market.publicClient.getTransactionReceipt({ hash })
  return new Map(parseEventLogs({ abi: sandrunMarketAbi, logs: receipt.logs, eventName: 'JobPosted' }).map((e) => [e.args.jobId, e.args.specHash]))
}

describe('jobPoster', { timeout: 60_000 }, () => {
  it('posts the first job at once and the ones that came meanwhile together, in one transaction, each with its own id', async () => {
    const poster = jobPoster({ market })
    const posted = await Promise.all([0, 1, 2, 3, 4, 5].map((n) => poster.post(job(n))))
    expect(new Set(posted.map((p) => p.hash)).size).toBe(2)
    expect(posted.slice(1).every((p) => p.hash === posted[1]!.hash)).toBe(true)
    expect(new Set(posted.map((p) => p.jobId)).size).toBe(6)
    const onChain = new Map([...(await specHashes(posted[0]!.hash)), ...(await specHashes(posted[1]!.hash))])
    for (const [n, p] of posted.entries()) expect(onChain.get(p.jobId)).toBe(job(n).specHash)
  })

  it('an invalid job in a batch fails alone with its reason; the others are posted', async () => {
    const poster = jobPoster({ market })
    const [first, good, bad, last] = await Promise.allSettled([poster.post(job(10)), poster.post(job(11)), poster.post(job(12, 1)), poster.post(job(13))])
    expect(bad.status === 'rejected' && bad.reason instanceof MarketRevertError && bad.reason.errorName).toBe('MarketInvalidQuorum')
    for (const [n, outcome] of [
      [10, first],
      [11, good],
      [13, last],
    ] as const) {
      expect(outcome.status).toBe('fulfilled')
      if (outcome.status !== 'fulfilled') continue
      expect((await specHashes(outcome.value.hash)).get(outcome.value.jobId)).toBe(job(n).specHash)
    }
  })
})
