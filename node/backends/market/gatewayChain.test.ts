// The gateway's chain reads on a real anvil: the follower polls every open job several times per
// block, and a job is read once per head: again once a block came, and once the gateway's own
// transaction (a finalize) was mined, even at the head it was given.
import { randomBytes } from 'node:crypto'
import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testParams } from '../../../test/contracts/marketHarness.ts'
import { startAnvil, type StartAnvilReturnType } from '../../chain/anvil.ts'
import { deployMarket } from '../../chain/deployMarket.ts'
import type { Deployment } from '../../chain/deployment.ts'
import { devAccounts } from '../../chain/devAccounts.ts'
import { createMarketClient, type MarketClient } from '../../chain/marketClient.ts'
import { parseSpecHash, type ChainJobId } from '../../../verifier/index.ts'
import { gatewayChain } from './gatewayChain.ts'

let anvil: StartAnvilReturnType
let deployment: Deployment
let market: MarketClient

beforeAll(async () => {
  anvil = await startAnvil()
  const [deployer, requester] = devAccounts(2)
  deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: deployer!, params: testParams, pollingInterval: 20 })
  market = createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account: requester!, pollingInterval: 20 })
})

afterAll(async () => {
  await anvil?.stop()
})

describe('the gateway chain', () => {
  it('reads a job once per head: again once a block came, and once its own finalize was mined', async () => {
    const { jobId } = await market.postJob({ specHash: parseSpecHash(`0x${randomBytes(32).toString('hex')}`), replicas: 1, commitWindow: 10, revealWindow: 10, reward: 10n ** 15n })
    const reads: ChainJobId[] = []
    const getJob: MarketClient['getJob'] = (id) => {
      reads.push(id)
      return market.getJob(id)
    }
    const chain = gatewayChain({ market: { ...market, getJob }, deployment, log: () => undefined })
    const first = await chain.now()
    const [a, b, c] = await Promise.all([chain.getJob(jobId, first.head), chain.getJob(jobId, first.head), chain.getJob(jobId, first.head)])
    expect(reads).toHaveLength(1)
    expect([b, c]).toEqual([a, a])
    expect(a.status).toBe('Open')

    // Past the commit window with nobody committed: a new block, so a new head and a new read.
    await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).increaseTime({ seconds: 11 })
    await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).mine({ blocks: 1 })
    const second = await chain.now()
    expect(second.head).not.toBe(first.head)
    const due = await chain.getJob(jobId, second.head)
    expect(reads).toHaveLength(2)

    // Its own finalize mined: a read at the head before it still shows the job closed.
    await chain.finalizeIfDue(due, second.timestamp)
    await chain.idle()
    expect((await chain.getJob(jobId, second.head)).status).not.toBe('Open')
    expect(reads).toHaveLength(3)
  })
})
