// The market across real network boundaries: each worker runs in its own network namespace on a
// private test subnet, anvil and the gateway sit behind the bridge in the root namespace, and one
// worker's link is cut after it committed; the job still completes with the other two.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { startMarketNetwork, windowSeconds, type MarketNetwork, type TestGateway, type WorkerProcess } from './marketNetwork.ts'
import { startTcpRelay, type TcpRelay } from './tcpRelay.ts'
import { createTestSubnet, type TestSubnet } from './testSubnet.ts'
import { chainJobId } from '../../verifier/index.ts'

const job = { 'main.py': 'print("hello across namespaces")\nopen("out.txt", "w").write("42\\n")\n' }
const manifest = { entrypoint: 'main.py', outputs: ['out.txt'], replicas: 3, quorum: 2 }
// Long enough that the third worker, started after the cut, still commits in time on a slow machine.
const commitWindowSeconds = 120

let sandbox: Sandbox
let network: MarketNetwork
let subnet: TestSubnet
let relay: TcpRelay
let gateway: TestGateway
/** Running workers by name; ns-worker-<i> runs in subnet.hosts[i - 1]. */
const running = new Map<string, WorkerProcess>()

beforeAll(async () => {
  subnet = await createTestSubnet({ hosts: 3 })
  sandbox = await createSandbox()
  network = await startMarketNetwork({ sandbox })
  relay = await startTcpRelay({ host: subnet.bridgeAddress, target: { host: '127.0.0.1', port: network.anvil.port } })
  gateway = await network.startGateway({ listen: [`/ip4/${subnet.bridgeAddress}/tcp/0`], backend: { commitWindowSeconds } })
})

afterAll(async () => {
  await Promise.all([...running.values()].map((w) => w.stop('crash')))
  await relay?.close()
  await network?.stop()
  await sandbox?.close()
  await subnet?.remove()
})

async function startWorker(index: number): Promise<WorkerProcess> {
  const name = `ns-worker-${index}`
  const host = subnet.hosts[index - 1]!
  const worker =
    running.get(name) ??
    (await network.startWorker({
      name,
      gateway,
      netns: host.netns,
      rpcUrl: `http://${subnet.bridgeAddress}:${relay.port}`,
      listen: [`/ip4/${host.address}/tcp/0`],
    }))
  running.set(name, worker)
  return worker
}

async function stopWorker(index: number): Promise<void> {
  await running.get(`ns-worker-${index}`)?.stop('crash')
  running.delete(`ns-worker-${index}`)
}

describe('market network across network namespaces', () => {
  it('three workers in three namespaces complete a job over the bridge', async () => {
    const workers = await Promise.all([1, 2, 3].map(startWorker))
    // Each worker is reachable only on its namespace's address.
    expect(workers.map((w) => w.listen[0]?.split('/')[2])).toEqual(subnet.hosts.map((h) => h.address))
    const status = await gateway.waitFinal(await gateway.submit(job, manifest))
    expect(status.status).toBe('completed')
    expect(status.verification).toMatchObject({ state: 'finalized', result_verified: true, replicas: 3, quorum: 2, revealed: 3, slashed: [] })
    expect(status.verification!.agreeing.sort()).toEqual(workers.map((w) => w.address).sort())
    const logs = await (await fetch(`${gateway.url}/logs/${status.job_id}?format=text`)).text()
    expect(logs).toContain('hello across namespaces')
  })

  it('a worker cut off after its commit cannot reveal and is slashed; the other two complete the job', async () => {
    // The third worker joins only after the cut, so the first two are sure to hold the early slots.
    await stopWorker(3)
    const [cutOff, survivor] = await Promise.all([startWorker(1), startWorker(2)])
    const jobId = await gateway.submit(job, manifest)
    // Two of three slots committed: the reveal phase has not opened, so nobody revealed yet.
    await gateway.waitChain(jobId, (v) => v.committed === 2)
    await subnet.cut(subnet.hosts[0]!)
    // The third commit opens the reveal phase; only the two connected workers can reveal.
    const late = await startWorker(3)
    await gateway.waitChain(jobId, (v) => v.committed === 3 && v.revealed === 2)
    await network.skipTime(commitWindowSeconds + windowSeconds + 1)
    const status = await gateway.waitFinal(jobId)
    expect(status.status).toBe('completed')
    const v = status.verification!
    expect(v.result_verified).toBe(true)
    expect(v.agreeing.sort()).toEqual([survivor.address, late.address].sort())
    expect(v.slashed).toEqual([cutOff.address])
    const slots = await network.chain.getSlots(chainJobId(v.job_id!))
    expect(slots.filter((s) => s.outcome === 'NotRevealed')).toHaveLength(1)
  })
})
