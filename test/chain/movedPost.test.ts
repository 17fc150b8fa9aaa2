// A reorg drops the gateway's post and another requester's post, mined first in the new chain, takes
// its job id. The gateway must not follow (and later fetch and "verify") that stranger's job under
// its user's id: it finds its own post, mined again under the next id, and follows that one.
import { encodeFunctionData, keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { startMarketNetwork, type MarketNetwork, type TestGateway } from '../market/marketNetwork.ts'
import type { ChainJobId, GatewayJobId } from '../../verifier/index.ts'

let sandbox: Sandbox
let network: MarketNetwork

beforeAll(async () => {
  sandbox = await createSandbox()
  network = await startMarketNetwork({ sandbox })
})

afterAll(async () => {
  await network?.stop()
  await sandbox?.close()
})

/** The job's on-chain id once it is (or changes to) one that `accept` takes. */
function chainJobIdOf(gateway: TestGateway, jobId: GatewayJobId, accept: (id: ChainJobId) => boolean): Promise<ChainJobId> {
  return new Promise((resolve) => {
    const watch = gateway.backend.watch(jobId, (event) => {
      const id = event.type === 'status' ? event.status.verification?.chainJobId : null
      if (id != null && accept(id)) {
        watch.unsubscribe()
        resolve(id)
      }
    })
    const id = watch.status.verification?.chainJobId
    if (id != null && accept(id)) resolve(id)
  })
}

describe('a reorg gives the gateway’s post id to another requester', { timeout: 120_000 }, () => {
  it('the gateway follows its own post under its new id, never the stranger’s job', async () => {
    const gateway = await network.startGateway()
    const jobId = await gateway.submit({ 'main.py': 'print("mine")\n' }, { entrypoint: 'main.py' })
    const first = await chainJobIdOf(gateway, jobId, () => true)

    // The block holding the post is replaced by one holding a stranger's post (anvil signs for its dev account).
    const [stranger] = devAccounts(1)
    const strangerSpec = keccak256(toHex('a stranger’s job'))
    const strangerPost = {
      from: stranger!.address,
      to: network.deployment.market,
      data: encodeFunctionData({ abi: sandrunMarketAbi, functionName: 'postJob', args: [strangerSpec, 1, 1, 60, 60] }),
      value: toHex(10n ** 15n),
      gas: toHex(500_000n),
    }
    await network.rpc('anvil_reorg', [1, [[strangerPost, 0]]])

    const moved = await chainJobIdOf(gateway, jobId, (id) => id !== first)
    expect(moved).toBe(first + 1n)
    const [taken, ours] = await Promise.all([network.chain.getJob(first), network.chain.getJob(moved)])
    expect(taken.requester.toLowerCase()).toBe(stranger!.address.toLowerCase())
    expect(ours.requester.toLowerCase()).not.toBe(stranger!.address.toLowerCase())
    // The job now followed is the one posted with this job's spec.
    const spec = gateway.backend.status(jobId).verification!.specHash
    expect(await network.chain.getJobSpecHash(moved)).toBe(spec)
    expect(await network.chain.getJobSpecHash(first)).toBe(strangerSpec)
    expect(gateway.log.some((entry) => entry.message === 'post moved by a reorg')).toBe(true)
  })
})
