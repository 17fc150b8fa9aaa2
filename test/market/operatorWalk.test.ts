// The walk of docs/network.md, "Join a running dev network as a second operator", command by
// command: `sandrun dev` prints rpc= and p2p=, a new key is funded with `sandrun dev fund`, a worker
// started without --bootstrap says it has no peer, one started with it takes a slot of the next job
// and is paid, and `sandrun worker status|unstake|withdraw` show and move the money. Also: `dev`
// and `serve` refuse a taken port at once (dev before anvil starts).
import { mkdtemp } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { createSandrunClient } from '../../node/client/index.ts'
import { spawnNode, type SpawnedNode } from '../../node/dev/spawnNode.ts'
import { runSandrunCli, sandrunBin } from '../runSandrunCli.ts'

let work: string
let dev: SpawnedNode
const nodes: SpawnedNode[] = []

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'sandrun-operator-'))
  dev = await spawnNode({
    cli: sandrunBin,
    command: 'dev',
    args: ['--workers', '1', '--port', '0', '--data-dir', path.join(work, 'dev')],
    readyTimeoutMs: 120_000,
  })
}, 150_000)

afterAll(async () => {
  for (const node of nodes) await node.stop()
  await dev?.stop()
})

describe('a second operator joins a running dev network (docs/network.md)', () => {
  it('keygen, dev fund, worker (warned without --bootstrap), a paid job, worker status, unstake, withdraw', async () => {
    const { url, rpc, p2p } = dev.ready
    expect(p2p).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/)
    const health = (await (await fetch(`${url}/health`)).json()) as { p2p: { multiaddrs: string[] }; chain: { rpc_url: string } }
    expect(health.p2p.multiaddrs).toContain(p2p)
    expect(health.chain.rpc_url).toBe(rpc)

    const keygen = await runSandrunCli(['keygen', '--out', 'op2.key'], work)
    const address = /fund it\): (0x[0-9a-fA-F]{40})/.exec(keygen.stderr)![1]!
    const funded = await runSandrunCli(['dev', 'fund', 'op2.key', '50', '--data-dir', path.join(work, 'dev')], work)
    expect(funded.stdout).toMatch(new RegExp(`^sent 50 ETH to ${address} on ${rpc} \\(tx 0x[0-9a-f]{64}\\); balance 50 ETH\\n$`))

    const deployment = path.join(work, 'dev', 'run', 'deployment.json')
    const common = ['--rpc', rpc!, '--deployment', deployment, '--key', path.join(work, 'op2.key'), '--data-dir', path.join(work, 'op2-data')]
    // Without --bootstrap: ready, but alone, and told so.
    const lines: string[] = []
    let warned: () => void = () => undefined
    const warning = new Promise<void>((resolve) => (warned = resolve))
    const alone = await spawnNode({
      cli: sandrunBin,
      command: 'worker',
      args: common,
      onLog: (line) => {
        lines.push(line)
        if (line.includes('no peer: this worker receives no jobs')) warned()
      },
    })
    nodes.push(alone)
    await warning
    expect(lines.find((l) => l.includes('no peer'))).toMatch(/--bootstrap <gateway multiaddr>/)
    await alone.stop()

    const worker = await spawnNode({ cli: sandrunBin, command: 'worker', args: [...common, '--bootstrap', p2p!] })
    nodes.push(worker)
    expect(worker.ready.address?.toLowerCase()).toBe(address.toLowerCase())
    const client = createSandrunClient({ baseUrl: url! })
    // Two replicas for two workers: the new one takes a slot.
    const { job_id: jobId } = await client.submit({
      bundle: await packFiles({ 'main.py': 'print("paid work")\n' }),
      manifest: { entrypoint: 'main.py', replicas: 2 },
    })
    const final = await client.wait(jobId)
    expect(final.status).toBe('completed')
    expect(final.verification?.agreeing).toContain(address.toLowerCase())

    const status = await runSandrunCli(['worker', 'status', '--rpc', rpc!, '--deployment', deployment, '--key', 'op2.key'], work)
    expect(status.stdout).toMatch(/jobs {8}1 won, 0 lost \(0 slashed\), 0 open/)
    expect(status.stdout).toMatch(/earned {6}0\.001 ETH in rewards/)
    const unstake = await runSandrunCli(['worker', 'unstake', 'all', '--rpc', rpc!, '--deployment', deployment, '--key', 'op2.key'], work)
    expect(unstake.stdout).toMatch(/^unstaking [\d.]+ ETH \(tx 0x[0-9a-f]{64}\); withdrawable at /)
    const after = JSON.parse(
      (await runSandrunCli(['worker', 'status', '--json', '--rpc', rpc!, '--deployment', deployment, '--key', 'op2.key'], work)).stdout,
    ) as { unbondingWei: string; freeWei: string }
    expect(BigInt(after.unbondingWei)).toBeGreaterThan(0n)
    expect(after.freeWei).toBe('0')
    const withdraw = await runSandrunCli(['worker', 'withdraw', '--rpc', rpc!, '--deployment', deployment, '--key', 'op2.key'], work)
    expect(withdraw.code).toBe(0)
    expect(withdraw.stdout).toMatch(/still unbonding for \d+ s|withdrew/)
    // Ten CLI processes, a dev network and a market job: minutes on a loaded 2-core machine.
  }, 300_000)
})

describe('a taken port', () => {
  let blocker: Server
  let port: number
  beforeAll(async () => {
    blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    port = (blocker.address() as { port: number }).port
  })
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())))

  it('sandrun dev exits at once with a clear message, before starting anvil', async () => {
    const result = await runSandrunCli(['dev', '--port', String(port), '--data-dir', path.join(work, 'busy')], work)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`)
    expect(result.stderr).not.toContain('starting anvil')
  })

  it('sandrun serve and sandrun gateway exit at once with a clear message', async () => {
    for (const args of [
      ['serve', '--port', String(port)],
      ['gateway', '--mode', 'market', '--rpc', 'http://127.0.0.1:1', '--deployment', 'none.json', '--key', 'none.key', '--port', String(port)],
    ]) {
      const result = await runSandrunCli(args, work)
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(
        `Port ${port} on 127.0.0.1 is already in use (another sandrun, or another program). Stop that one, or pick another port with --port <n>.`,
      )
    }
  })
})
