// A gateway restarted after a crash has no job data, only its ledger: against a real anvil, a post
// whose receipt it never saw is found by spec hash, a post never sent is dropped, and the jobs it
// posted are finalized once due (the escrow comes back) and then leave the ledger.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testParams } from '../../../test/contracts/marketHarness.ts'
import { startAnvil, type StartAnvilReturnType } from '../../chain/anvil.ts'
import { deployMarket } from '../../chain/deployMarket.ts'
import type { Deployment } from '../../chain/deployment.ts'
import { devAccounts } from '../../chain/devAccounts.ts'
import { createMarketClient, type MarketClient } from '../../chain/marketClient.ts'
import { followOrphanedJobs } from './followOrphanedJobs.ts'
import { openJobLedger } from './openJobLedger.ts'
import { parseSpecHash, type SpecHash } from '../../../verifier/index.ts'

let anvil: StartAnvilReturnType
let deployment: Deployment
let market: MarketClient
let dataDir: string

beforeAll(async () => {
  anvil = await startAnvil()
  const [deployer, requester] = devAccounts(2)
  deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: deployer!, params: testParams, pollingInterval: 20 })
  market = createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account: requester!, pollingInterval: 20 })
  dataDir = await mkdtemp(path.join(tmpdir(), 'sandrun-ledger-test-'))
})

afterAll(async () => {
  await anvil?.stop()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

const specHash = (): SpecHash => parseSpecHash(`0x${randomBytes(32).toString('hex')}`)
const post = (hash: SpecHash) => market.postJob({ specHash: hash, replicas: 1, commitWindow: 10, revealWindow: 10, reward: 10n ** 15n })

describe('orphaned jobs after a restart', () => {
  it('resolves, finalizes and forgets what the dead gateway had posted', async () => {
    const ledger = await openJobLedger({ dataDir, chainId: deployment.chainId, market: deployment.market })
    const fromBlock = await market.publicClient.getBlockNumber()
    // Sent, but the gateway died before it saw the receipt.
    const lostSpec = specHash()
    await ledger.posting({ specHash: lostSpec, fromBlock })
    const lost = await post(lostSpec)
    // Posted and recorded.
    const recordedSpec = specHash()
    const recordedKey = await ledger.posting({ specHash: recordedSpec, fromBlock })
    const recorded = await post(recordedSpec)
    await ledger.posted(recordedKey, recorded.jobId)
    // Never sent.
    await ledger.posting({ specHash: specHash(), fromBlock })

    // The restart: a new ledger over the same directory, and nothing else.
    const restarted = await openJobLedger({ dataDir, chainId: deployment.chainId, market: deployment.market })
    const settled: string[] = []
    let allSettled!: () => void
    const done = new Promise<void>((resolve) => (allSettled = resolve))
    const orphans = followOrphanedJobs({
      market,
      deployment,
      ledger: restarted,
      pollIntervalMs: 50,
      chainNow: async () => Number((await market.publicClient.getBlock()).timestamp),
      // Nobody committed: due once the commit window closed (the backend's own rule covers more cases).
      finalizeIfDue: async (job, now) => {
        if (now > job.commitDeadline) await market.finalize(job.jobId)
      },
      log: (message, context) => {
        if (message !== 'orphaned job settled') return
        settled.push(context.chainJobId as string)
        if (settled.length === 2) allSettled()
      },
    })
    await orphans.adopt(await restarted.list())
    expect(orphans.pending()).toBe(2)
    expect((await readdir(path.join(dataDir, 'open-jobs'))).sort()).toEqual([`job-${lost.jobId}.json`, `job-${recorded.jobId}.json`].sort())

    const chainTime = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
    await chainTime.increaseTime({ seconds: 11 })
    await chainTime.mine({ blocks: 1 })
    await done
    orphans.stop()
    expect(settled.sort()).toEqual([lost.jobId.toString(), recorded.jobId.toString()].sort())
    for (const id of [lost.jobId, recorded.jobId]) expect((await market.getJob(id)).status).toBe('Expired')
    expect((await market.getAccount(market.account!.address)).balance).toBe(2n * 10n ** 15n)
    expect(await readdir(path.join(dataDir, 'open-jobs'))).toEqual([])
  })
})
