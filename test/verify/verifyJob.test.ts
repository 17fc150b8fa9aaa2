// The chain's account of a job, read through verifier/chain on a real anvil and market: outcomes,
// payments, slashes and the tx of every step for a settled job; typed refusals otherwise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from 'viem'
import { consensusRootOf, jobReportJson, verifyJob } from '../../verifier/chain/index.ts'
import { reward, startChainFixture, type ChainFixture } from './chainFixture.ts'
import { type ChainJobId, chainJobId } from '../../verifier/index.ts'

let chain: ChainFixture
const rootA: Hex = `0x${'aa'.repeat(32)}`
const rootB: Hex = `0x${'bb'.repeat(32)}`
const rootC: Hex = `0x${'cc'.repeat(32)}`

beforeAll(async () => {
  chain = await startChainFixture()
})
afterAll(async () => {
  await chain?.stop()
})

const read = (jobId: ChainJobId, chainId = chain.deployment.chainId) =>
  verifyJob(chain.publicClient, { chainId, market: chain.deployment.market, jobId, fromBlock: chain.deployment.deployBlock })

describe('verifyJob', () => {
  it('reports who agreed, who was slashed, what each was paid, and the tx of every step', async () => {
    const job = await chain.settleJob({ roots: [rootA, rootB, rootA] })
    const report = await read(job.jobId)
    // max(minCollateral 0.1 ETH, 3 x reward 0.03 ETH)
    const collateral = 10n ** 17n
    expect(report.collateral).toBe(collateral)
    expect(report).toMatchObject({ status: 'Finalized', consensusRoot: rootA, replicas: 3, quorum: 2, verdict: { verified: true, code: 'VERIFIED' } })
    expect(report.slots.map((s) => [s.worker, s.revealedRoot, s.outcome])).toEqual([
      [chain.clients[1]!.account!.address, rootA, 'Won'],
      [chain.clients[2]!.account!.address, rootB, 'Dissented'],
      [chain.clients[3]!.account!.address, rootA, 'Won'],
    ])
    // Winners share the dissenter's collateral on top of their reward.
    expect(report.slots.map((s) => [s.paid, s.slashed])).toEqual([
      [reward + collateral / 2n, 0n],
      [0n, collateral],
      [reward + collateral / 2n, 0n],
    ])
    expect(report.totals).toEqual({ paid: 2n * reward + collateral, slashed: collateral, refunded: reward })
    expect(report.steps.posted?.txHash).toBe(job.posted)
    expect(report.slots.map((s) => s.commit?.txHash)).toEqual(job.commits)
    expect(report.slots.map((s) => s.reveal?.txHash)).toEqual(job.reveals)
    expect(report.steps.finalized?.txHash).toBe(job.finalized)
    const receipt = await chain.publicClient.getTransactionReceipt({ hash: job.finalized! })
    expect(report.steps.finalized?.blockNumber).toBe(receipt.blockNumber)
    // Settled in the head block: one confirmation; each block on top adds one.
    expect(report.confirmations).toBe(Number((await chain.publicClient.getBlockNumber({ cacheTime: 0 })) - receipt.blockNumber + 1n))
    await chain.publicClient.request({ method: 'anvil_mine' as never, params: ['0x2'] as never })
    expect((await read(job.jobId)).confirmations).toBe(report.confirmations! + 2)
    expect(consensusRootOf(report)).toBe(rootA)
    expect(JSON.parse(JSON.stringify(jobReportJson(report)))).toMatchObject({ job_id: job.jobId.toString(), totals: { slashed_wei: collateral.toString() } })
  })

  it('says a job that is still open is not finalized', async () => {
    const job = await chain.settleJob({ roots: [rootA, rootA, rootA], finalize: false })
    const report = await read(job.jobId)
    expect(report).toMatchObject({ status: 'Open', consensusRoot: null, verdict: { verified: false, code: 'JOB_NOT_FINALIZED' } })
    expect(report.slots.every((s) => s.outcome === 'Committed' && s.revealedRoot === null)).toBe(true)
    expect(() => consensusRootOf(report)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FINALIZED' }))
  })

  it('says an inconclusive job has no result, and slashes only the worker that did not reveal', async () => {
    const job = await chain.settleJob({ roots: [rootA, rootB, null] })
    const report = await read(job.jobId)
    expect(report).toMatchObject({ status: 'Inconclusive', consensusRoot: null, verdict: { verified: false, code: 'JOB_INCONCLUSIVE' } })
    expect(report.slots.map((s) => s.outcome)).toEqual(['Released', 'Released', 'NotRevealed'])
    expect(report.slots.map((s) => s.slashed)).toEqual([0n, 0n, report.collateral])
    expect(() => consensusRootOf(report)).toThrow(expect.objectContaining({ code: 'JOB_INCONCLUSIVE' }))
  })

  it('refuses an unknown job id and an RPC of another chain', async () => {
    await expect(read(chainJobId(999n))).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' })
    await expect(read(chainJobId(1n), 1)).rejects.toMatchObject({ code: 'CHAIN_MISMATCH' })
  })

  it('reports a worker that never revealed in a finalized job as slashed', async () => {
    const report = await read((await chain.settleJob({ roots: [rootC, rootC, null] })).jobId)
    expect(report.slots.map((s) => s.outcome)).toEqual(['Won', 'Won', 'NotRevealed'])
    expect(report.slots[2]!.reveal).toBeNull()
  })
})

