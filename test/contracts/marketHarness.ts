// Shared set-up of the market tests: one anvil per test file, the market deployed with small
// test parameters, a market client per dev account, snapshots and time travel.
import { createPublicClient, createTestClient, http, type Address, type Hex, type PublicClient } from 'viem'
import { expect } from 'vitest'
import { commitFrom, commitWhenEligible } from './commitWhenEligible.ts'
import { startAnvil, type StartAnvilReturnType } from '../../node/chain/anvil.ts'
import { deployMarket } from '../../node/chain/deployMarket.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { MarketRevertError } from '../../node/chain/errors.ts'
import { createMarketClient, type MarketClient } from '../../node/chain/marketClient.ts'
import type { MarketParams } from '../../node/chain/marketParams.ts'
import type { ChainJobId } from '../../verifier/index.ts'

export const ETH = 10n ** 18n

/** Round numbers so balances are easy to check: collateral = max(1 ETH, 2 x reward). */
export const testParams: MarketParams = {
  minCollateral: 1n * ETH,
  collateralMultiplier: 2n,
  unbondingPeriod: 1000n,
  minCommitWindow: 10n,
  maxCommitWindow: 10_000n,
  minRevealWindow: 10n,
  maxRevealWindow: 10_000n,
}

export type MarketHarness = {
  anvil: StartAnvilReturnType
  market: Address
  clients: MarketClient[]
  publicClient: PublicClient
  testClient: ReturnType<typeof createTestClient>
  snapshot(): Promise<Hex>
  /** Reverts the chain to a snapshot; the clients forget the transactions they sent since. */
  revert(id: Hex): Promise<void>
  /** Move chain time forward and mine a block at the new time. */
  increaseTime(seconds: number): Promise<void>
  /** Timestamp of the latest block. */
  now(): Promise<number>
  ethBalance(address: Address): Promise<bigint>
  /** Chain time from which `client` may commit to the job's current round (null: never in this window). */
  commitFrom(client: MarketClient, jobId: ChainJobId): Promise<number | null>
  /** Moves chain time to when `client` is drawn for the job's current round, then commits. */
  commitWhenEligible(client: MarketClient, parameters: { jobId: ChainJobId; resultRoot: Hex; salt?: Hex }): ReturnType<MarketClient['commit']>
  /** Moves chain time to when `client` is drawn for every one of `jobIds` (for a batch of commits). */
  untilDrawnForAll(client: MarketClient, jobIds: ChainJobId[]): Promise<void>
  stop(): Promise<void>
}

export async function startMarketHarness({ accounts = 10 }: { accounts?: number } = {}): Promise<MarketHarness> {
  const anvil = await startAnvil({ accounts })
  const signers = devAccounts(accounts)
  const deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: signers[0]!, params: testParams, pollingInterval: 20 })
  const transport = http(anvil.rpcUrl, { batch: true })
  const publicClient: PublicClient = createPublicClient({ transport, pollingInterval: 20 })
  const testClient = createTestClient({ mode: 'anvil', transport })
  const clients = signers.map((account) => createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account, pollingInterval: 20 }))
  return {
    anvil,
    market: deployment.market,
    clients,
    publicClient,
    testClient,
    snapshot: () => testClient.snapshot(),
    async revert(id) {
      // A snapshot revert is no reorg: each client forgets what it sent, or it would resend it (or hold its
      // nonce) in the state the next test starts from.
      for (const client of clients) client.transactions?.forget()
      await testClient.revert({ id })
    },
    async increaseTime(seconds) {
      await testClient.increaseTime({ seconds })
      await testClient.mine({ blocks: 1 })
    },
    async now() {
      return Number((await publicClient.getBlock()).timestamp)
    },
    ethBalance: (address) => publicClient.getBalance({ address }),
    commitFrom: (client, jobId) => commitFrom(publicClient, client, jobId),
    commitWhenEligible: (client, parameters) => commitWhenEligible({ publicClient, testClient, client, ...parameters }),
    async untilDrawnForAll(client, jobIds) {
      const from = await Promise.all(jobIds.map((jobId) => commitFrom(publicClient, client, jobId)))
      if (from.some((time) => time === null)) throw new Error(`${client.account!.address} is not drawn for every job in this round`)
      const latest = Math.max(...(from as number[]))
      if (Number((await publicClient.getBlock()).timestamp) < latest) await testClient.setNextBlockTimestamp({ timestamp: BigInt(latest) })
    },
    stop: () => anvil.stop(),
  }
}

/** Expect `promise` to fail with the market's custom error `errorName` (and `args`, if given). */
export async function expectMarketError(promise: Promise<unknown>, errorName: string, args?: readonly unknown[]): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, `expected ${errorName}`).toBeInstanceOf(MarketRevertError)
  expect((error as MarketRevertError).errorName).toBe(errorName)
  if (args) expect((error as MarketRevertError).args).toEqual(args)
}
