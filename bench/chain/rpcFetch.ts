// CPU per JSON-RPC request through viem, with Node's fetch and with rpcFetch.ts (node:http, kept-alive
// connections), against a local anvil: --requests pending-block reads one after the other, each way,
// twice in turn (the first round warms up). Prints CPU and wall time per request and the ratio.
// Run: node --import tsx bench/chain/rpcFetch.ts [--requests 3000]
import { parseArgs } from 'node:util'
import { createPublicClient, http } from 'viem'
import { startAnvil } from '../../node/chain/anvil.ts'
import { rpcFetch } from '../../node/chain/rpcFetch.ts'

const { values } = parseArgs({ options: { requests: { type: 'string' } } })
const requests = Number(values.requests ?? 3000)
const anvil = await startAnvil()
const results = new Map<string, { cpuMs: number; wallMs: number }>()
try {
  for (const round of [1, 2]) {
    for (const [name, fetchFn] of [
      ['Node fetch', undefined],
      ['rpcFetch', rpcFetch],
    ] as const) {
      const client = createPublicClient({ transport: http(anvil.rpcUrl, { fetchFn }) })
      await client.getBlock({ blockTag: 'pending' })
      const cpu = process.cpuUsage()
      const start = performance.now()
      for (let n = 0; n < requests; n++) await client.getBlock({ blockTag: 'pending' })
      const used = process.cpuUsage(cpu)
      const result = { cpuMs: (used.user + used.system) / 1000 / requests, wallMs: (performance.now() - start) / requests }
      console.error(`bench: round ${round}, ${name}: ${result.cpuMs.toFixed(3)} ms CPU per request`)
      if (round === 2) results.set(name, result)
    }
  }
} finally {
  await anvil.stop()
}
const base = results.get('Node fetch')!
console.log(`JSON-RPC through viem, ${requests} pending-block reads each, warm (the client's process only; anvil not counted):`)
for (const [name, { cpuMs, wallMs }] of results) console.log(`  ${name}: ${cpuMs.toFixed(3)} ms CPU, ${wallMs.toFixed(3)} ms wall per request (${(cpuMs / base.cpuMs).toFixed(2)}x Node fetch's CPU)`)
