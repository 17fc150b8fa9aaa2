// Market workers against a real anvil, the real contract, real libp2p on 127.0.0.1 and the real
// sandbox, with the test playing the gateway: a job is taken once the worker is drawn, run,
// committed, revealed (the last reveal settles it) and paid, earnings batched until the worker
// stops; a wrong worker escalates the job and is slashed; a silent worker is slashed; a worker that
// crashed right after its commit reveals after a restart; a settled result is deleted once its
// requester fetched it with a signed claim, and not for anyone else.
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPeerRegistration } from '../../node/chain/verifyPeerRegistration.ts'
import { resultClaimMessage } from '../../node/market/resultClaim.ts'
import { checkResultFiles } from '../../node/p2p/checkResultFiles.ts'
import { resultRoot } from '../../verifier/resultRoot.ts'
import { REWARD, startWorkerHarness, WINDOW, type WorkerHarness } from './workerHarness.ts'

let h: WorkerHarness
beforeAll(async () => {
  h = await startWorkerHarness()
})
afterAll(async () => h?.stop())

const hello = { files: { 'main.sh': 'echo hello from the market\n' }, entrypoint: 'main.sh' }

describe('one worker, one replica', () => {
  it('runs the job once drawn, commits, reveals (which settles it), serves the verified result and withdraws its reward at stop', async () => {
    const worker = await h.startWorker()
    const balanceBefore = await h.requester.publicClient.getBalance({ address: worker.node.address })
    const { jobId } = await h.postJob({ ...hello, replicas: 1 })
    await worker.phase(jobId, 'settled')

    const job = await h.requester.getJob(jobId)
    expect(job.status).toBe('Finalized')
    const [slot] = await h.requester.getSlots(jobId)
    expect(slot).toMatchObject({ worker: worker.node.address, outcome: 'Won', slashed: false })
    const record = worker.worker.jobs().find((j) => j.jobId === jobId)!
    expect(record).toMatchObject({ root: job.consensusRoot, status: 'Finalized', outcome: 'Won' })
    expect(record.commitTx && record.revealTx).toBeTruthy()

    // The gateway's side: fetch from the worker, check every byte against the on-chain root.
    const result = await h.results.fetch({ peer: worker.node.host.multiaddrs()[0]!, jobId })
    checkResultFiles(result)
    expect(resultRoot(result.entries)).toBe(job.consensusRoot)
    expect(Buffer.from(result.files.find((f) => f.name === 'stdout')!.content).toString()).toBe('hello from the market\n')
    expect(Buffer.from(result.files.find((f) => f.name === 'exit')!.content).toString()).toBe('0:exited')

    // The live log ends with the job's status, replayed to a late watcher.
    const events = []
    for await (const event of h.logs.follow({ peer: worker.node.host.multiaddrs()[0]!, jobId })) events.push(event)
    expect(events.at(-1)).toMatchObject({ type: 'end', status: { state: 'completed', exit_code: 0 } })

    // Paid: the reward is credited on chain, below the withdrawal threshold it stays there (a
    // withdrawal per job would cost ~35k gas each), and stopping the worker withdraws it.
    expect((await h.requester.getAccount(worker.node.address)).balance).toBe(REWARD)
    expect(worker.withdrawn).toEqual([])
    await worker.stop()
    expect(worker.withdrawn).toEqual([REWARD])
    expect((await h.requester.getAccount(worker.node.address)).balance).toBe(0n)
    const balanceAfter = await h.requester.publicClient.getBalance({ address: worker.node.address })
    expect(balanceAfter).toBeGreaterThan(balanceBefore) // the reward exceeds the gas of commit, reveal and withdraw
  })

  it('advertises its capabilities and environments in heartbeats', async () => {
    const worker = await h.startWorker()
    const beat = worker.worker.heartbeat()
    expect(beat.address).toBe(worker.node.address.toLowerCase())
    expect(beat.capabilities.interpreters).toContain('sh')
    expect(beat.environments.length).toBeGreaterThan(0)
    expect(beat.load).toEqual({ running: 0 })
    // The peer id is registered with the peer key's signature over (chain, market, account), so a
    // gateway can find the worker from its slot, and nobody else can claim that peer.
    const registration = await h.requester.getPeer(worker.node.address)
    expect(registration.peerId).toBe(`0x${Buffer.from(worker.node.host.libp2p.peerId.toMultihash().bytes).toString('hex')}`)
    const binding = { chainId: h.deployment.chainId, market: h.deployment.market, account: worker.node.address }
    expect(verifyPeerRegistration({ ...binding, registration })?.toString()).toBe(worker.node.peerId)
    expect(verifyPeerRegistration({ ...binding, account: h.requester.account!.address, registration })).toBeNull()
    await worker.stop()
  })
})

describe('three workers', () => {
  it('a wrong-result worker escalates the job; with nobody fresh to draw the honest majority decides and it is slashed', async () => {
    const honest = [await h.startWorker(), await h.startWorker()]
    const wrong = await h.startWorker({ fault: 'wrong-result' })
    const { jobId } = await h.postJob({ ...hello, replicas: 3 })
    await Promise.all([...honest, wrong].map((w) => w.phase(jobId, 'revealed')))
    expect(await h.requester.getJob(jobId)).toMatchObject({ status: 'Escalated', round: 1, roundSlots: 9 })
    // Every other staked worker here is stopped: the escalation round's commit window runs out.
    await h.increaseTime(WINDOW + 1)
    await Promise.all([...honest, wrong].map((w) => w.phase(jobId, 'settled')))

    const job = await h.requester.getJob(jobId)
    expect(job.status).toBe('Finalized')
    const slots = await h.requester.getSlots(jobId)
    const outcomeOf = (address: string) => slots.find((s) => s.worker === address)
    for (const w of honest) expect(outcomeOf(w.node.address)).toMatchObject({ outcome: 'Won', revealedRoot: job.consensusRoot })
    expect(outcomeOf(wrong.node.address)).toMatchObject({ outcome: 'Dissented', slashed: true })

    const altered = await h.results.fetch({ peer: wrong.node.host.multiaddrs()[0]!, jobId })
    checkResultFiles(altered)
    expect(resultRoot(altered.entries)).toBe(outcomeOf(wrong.node.address)!.revealedRoot)
    expect(resultRoot(altered.entries)).not.toBe(job.consensusRoot)
    await Promise.all([...honest, wrong].map((w) => w.stop()))
  })

  it('a no-reveal worker commits, never reveals, and is slashed once the reveal window closes', async () => {
    const honest = [await h.startWorker(), await h.startWorker()]
    const silent = await h.startWorker({ fault: 'no-reveal' })
    const { jobId } = await h.postJob({ ...hello, replicas: 3 })
    await Promise.all(honest.map((w) => w.phase(jobId, 'revealed')))
    await silent.phase(jobId, 'committed')
    expect((await h.requester.getJob(jobId)).status).toBe('Open')

    await h.increaseTime(2 * WINDOW + 1)
    await Promise.all([...honest, silent].map((w) => w.phase(jobId, 'settled')))
    expect((await h.requester.getJob(jobId)).status).toBe('Finalized')
    const slots = await h.requester.getSlots(jobId)
    expect(slots.find((s) => s.worker === silent.node.address)).toMatchObject({ outcome: 'NotRevealed', slashed: true })
    expect(slots.filter((s) => s.outcome === 'Won')).toHaveLength(2)
    await Promise.all([...honest, silent].map((w) => w.stop()))
  })
})

describe('restart', () => {
  it('a worker that crashed right after its commit reveals and finalizes after a restart', async () => {
    let crashed!: () => void
    const crash = new Promise<void>((resolve) => (crashed = resolve))
    const first = await h.startWorker({ fault: 'crash-after-commit', exit: () => crashed() })
    const { jobId } = await h.postJob({ ...hello, replicas: 1 })
    // A dropped job would never crash the worker: fail fast instead of waiting for the timeout.
    await Promise.race([crash, first.phase(jobId, 'committed')])
    await first.stop()
    const committed = await h.requester.getJob(jobId)
    expect(committed).toMatchObject({ status: 'Open', committed: 1, revealed: 0 })

    const second = await h.startWorker({ keyFile: first.keyFile, dataDir: first.dataDir })
    expect(second.node.address).toBe(first.node.address)
    await second.phase(jobId, 'settled')
    const job = await h.requester.getJob(jobId)
    expect(job.status).toBe('Finalized')
    const [slot] = await h.requester.getSlots(jobId)
    expect(slot).toMatchObject({ worker: second.node.address, outcome: 'Won' })
    await second.stop()
  })
})

describe('result retention', () => {
  it('deletes a settled result once its requester fetched it with a signed claim, and for nobody else', async () => {
    const worker = await h.startWorker()
    const { jobId } = await h.postJob({ ...hello, replicas: 1 })
    await worker.phase(jobId, 'settled')
    const id = jobId
    const peer = worker.node.host.multiaddrs()[0]!
    const claimOf = (workerAddress: `0x${string}`) => resultClaimMessage({ chainId: h.deployment.chainId, market: h.deployment.market, jobId: id, worker: workerAddress })
    const requester = h.requester.account!
    // Anyone may fetch a revealed result; a claim by another account, or for another worker, deletes nothing.
    const stranger = privateKeyToAccount(generatePrivateKey())
    const refused = [await stranger.signMessage({ message: claimOf(worker.node.address) }), await requester.signMessage!({ message: claimOf(stranger.address) })]
    for (const claim of refused) {
      expect(Buffer.from((await h.results.fetch({ peer, jobId: id, claim })).files.find((f) => f.name === 'stdout')!.content).toString()).toBe('hello from the market\n')
      expect(await worker.worker.resultServed(id, claim)).toBe(false)
    }
    expect(await worker.worker.resultServed(id, null)).toBe(false)

    const removed = new Promise((resolve) => worker.worker.events.once('removed', resolve))
    const result = await h.results.fetch({ peer, jobId: id, claim: await requester.signMessage!({ message: claimOf(worker.node.address) }) })
    expect(Buffer.from(result.files.find((f) => f.name === 'stdout')!.content).toString()).toBe('hello from the market\n')
    expect(await removed).toEqual({ jobId: id, reason: 'served to its requester' })
    expect(worker.worker.jobs().map((j) => j.jobId)).not.toContain(id)
    await expect(h.results.fetch({ peer, jobId: id })).rejects.toThrow(/no finished result/)
    await worker.stop()
  })
})
