// Verifying a job on a long chain through a provider that refuses eth_getLogs over 1,000 blocks:
// `verifyJob` and the `sandrun verify` CLI on a chain whose head is past block 1,000,000, against the
// same on a fresh chain (the baseline, same run). Usage: npm run bench:chain
import '../../node/promiseWithResolvers.ts'
import { createPublicClient, type Hex } from 'viem'
import { chainTransport } from '../../node/chain/chainTransport.ts'
import { verifyJob } from '../../verifier/chain/index.ts'
import { runSandrunCli } from '../../test/runSandrunCli.ts'
import { startChainFixture } from '../../test/verify/chainFixture.ts'
import { startFaultyRpc } from '../../test/chain/faultyRpc.ts'

const runs = 20
const root: Hex = `0x${'ab'.repeat(32)}`

async function measure(genesisBlockNumber: number): Promise<{ head: bigint; p50: number; max: number; cli: number; getLogs: number }> {
  const chain = await startChainFixture({ genesisBlockNumber })
  const rpc = await startFaultyRpc({ target: chain.anvil.rpcUrl, seed: 1 })
  try {
    const job = await chain.settleJob({ roots: [root, root, root] })
    const client = createPublicClient({ transport: chainTransport(rpc.url) })
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const started = performance.now()
      const report = await verifyJob(client, { chainId: chain.deployment.chainId, market: chain.deployment.market, jobId: job.jobId })
      times.push(performance.now() - started)
      if (!report.verdict.verified) throw new Error(`job ${job.jobId} not verified: ${report.verdict.reason}`)
    }
    const getLogs = (rpc.methods.get('eth_getLogs') ?? 0) / runs
    const started = performance.now()
    const cli = await runSandrunCli(['verify', job.jobId.toString(), '--rpc', rpc.url, '--market', chain.deployment.market], process.cwd())
    const cliMs = performance.now() - started
    if (!cli.stdout.includes('VERIFIED (chain)')) throw new Error(`sandrun verify: ${cli.stdout}${cli.stderr}`)
    times.sort((a, b) => a - b)
    return { head: await chain.publicClient.getBlockNumber(), p50: times[Math.floor(runs / 2)]!, max: times[runs - 1]!, cli: cliMs, getLogs }
  } finally {
    await rpc.close()
    await chain.stop()
  }
}

const base = await measure(0)
const long = await measure(1_000_000)
const row = (name: string, m: typeof base) =>
  `${name.padEnd(14)} head ${String(m.head).padStart(8)}  verifyJob p50 ${m.p50.toFixed(1)} ms (max ${m.max.toFixed(1)})  eth_getLogs/verify ${m.getLogs}  sandrun verify CLI ${(m.cli / 1000).toFixed(2)} s`
console.log(row('fresh chain', base))
console.log(row('long chain', long))
console.log(`ratio long/fresh: verifyJob p50 ${(long.p50 / base.p50).toFixed(2)}x, CLI ${(long.cli / base.cli).toFixed(2)}x`)
