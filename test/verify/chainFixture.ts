// A real anvil with a real SandrunMarket for the verification tests, and settled jobs built
// transaction by transaction: post, commits from staked dev accounts (each once it is drawn),
// reveals, and the round closings (a dissenting job escalates; nobody comes to the second round).
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createPublicClient, createTestClient, http, type Hash, type Hex, type PublicClient } from 'viem'
import { startAnvil, type StartAnvilReturnType } from '../../node/chain/anvil.ts'
import { deployMarket } from '../../node/chain/deployMarket.ts'
import { writeDeployment, type Deployment } from '../../node/chain/deployment.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { createMarketClient, type MarketClient } from '../../node/chain/marketClient.ts'
import type { MarketParams } from '../../node/chain/marketParams.ts'
import { commitWhenEligible } from '../contracts/commitWhenEligible.ts'
import { type ChainJobId, parseSpecHash } from '../../verifier/index.ts'

const ETH = 10n ** 18n
/** Short windows so a test can skip them; collateral = max(0.1 ETH, 9 x reward) for 3 replicas. */
const params: MarketParams = {
  minCollateral: ETH / 10n,
  collateralMultiplier: 3n,
  unbondingPeriod: 1000n,
  minCommitWindow: 10n,
  maxCommitWindow: 10_000n,
  minRevealWindow: 10n,
  maxRevealWindow: 10_000n,
}
export const reward = ETH / 100n
const commitWindow = 100
const revealWindow = 100

export type SettleJobParameters = {
  /** What each worker commits; null = commits but never reveals. */
  roots: Array<Hex | null>
  /** Stop after the commits (the job stays Open). */
  finalize?: boolean
}

export type SettledJob = {
  jobId: ChainJobId
  posted: Hash
  commits: Hash[]
  reveals: Array<Hash | null>
  finalized: Hash | null
}

export type ChainFixture = {
  anvil: StartAnvilReturnType
  deployment: Deployment
  deploymentFile: string
  publicClient: PublicClient
  /** Index 0 posts jobs; 1.. are staked workers. */
  clients: MarketClient[]
  settleJob(parameters: SettleJobParameters): Promise<SettledJob>
  stop(): Promise<void>
}

export async function startChainFixture({ workers = 3, genesisBlockNumber }: { workers?: number; genesisBlockNumber?: number } = {}): Promise<ChainFixture> {
  const anvil = await startAnvil({ accounts: workers + 1, ...(genesisBlockNumber === undefined ? {} : { genesisBlockNumber }) })
  const accounts = devAccounts(workers + 1)
  const deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: accounts[0]!, params, pollingInterval: 20 })
  const deploymentFile = path.join(await mkdtemp(path.join(tmpdir(), 'sandrun-verify-chain-')), 'deployment.json')
  writeDeployment(deploymentFile, deployment)
  const transport = http(anvil.rpcUrl)
  const publicClient: PublicClient = createPublicClient({ transport, pollingInterval: 20 })
  const testClient = createTestClient({ mode: 'anvil', transport })
  const clients = accounts.map((account) => createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account, pollingInterval: 20 }))
  for (const client of clients.slice(1)) await client.stake({ value: 10n * ETH })
  const skip = async (seconds: number): Promise<void> => {
    await testClient.increaseTime({ seconds })
    await testClient.mine({ blocks: 1 })
  }

  async function settleJob({ roots, finalize = true }: SettleJobParameters): Promise<SettledJob> {
    const posted = await clients[0]!.postJob({ specHash: parseSpecHash(`0x${'5e'.repeat(32)}`), replicas: roots.length, commitWindow, revealWindow, reward })
    const sealed = []
    for (const [i, root] of roots.entries()) {
      // A worker that will not reveal still commits something: its seal is over a root it keeps.
      const resultRoot = root ?? (`0x${'00'.repeat(31)}0${i}` as Hex)
      sealed.push(await commitWhenEligible({ publicClient, testClient, client: clients[i + 1]!, jobId: posted.jobId, resultRoot }))
    }
    const job: SettledJob = { jobId: posted.jobId, posted: posted.hash, commits: sealed.map((s) => s.hash), reveals: [], finalized: null }
    if (!finalize) return job
    for (const [i, root] of roots.entries()) {
      job.reveals.push(root ? (await clients[i + 1]!.reveal({ jobId: posted.jobId, resultRoot: root, salt: sealed[i]!.salt })).hash : null)
    }
    // The last reveal settles a unanimous job; a silent slot leaves it to finalize at the deadline.
    if (roots.includes(null)) {
      await skip(commitWindow + revealWindow + 1)
      await clients[0]!.finalize(posted.jobId)
    }
    // Dissent drew a second committee; nobody joins it, and after its commit window the first
    // committee's majority decides.
    if ((await clients[0]!.getJob(posted.jobId)).status === 'Escalated') {
      await skip(commitWindow + 1)
      await clients[0]!.finalize(posted.jobId)
    }
    const events = await clients[0]!.getJobEvents(posted.jobId)
    job.finalized = events.find((e) => e.eventName === 'JobFinalized')?.transactionHash ?? null
    return job
  }

  return { anvil, deployment, deploymentFile, publicClient, clients, settleJob, stop: () => anvil.stop() }
}
