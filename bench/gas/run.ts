// Gas benchmark of the market: gas of each call and the total per verified job (post, N commits,
// N reveals, finalize) for 1, 3 and 5 replicas on a fresh anvil. `node --import tsx bench/gas/run.ts`
import { keccak256, parseEther, toHex, type Hex } from 'viem'
import { startAnvil } from '../../node/chain/anvil.ts'
import { deployMarket } from '../../node/chain/deployMarket.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { createMarketClient } from '../../node/chain/marketClient.ts'
import { defaultMarketParams } from '../../node/chain/marketParams.ts'

const replicaCounts = [1, 3, 5]
const anvil = await startAnvil({ accounts: 7 })
try {
  const [deployer, requester, ...workers] = devAccounts(7)
  const deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: deployer!, params: defaultMarketParams })
  const client = (account: (typeof workers)[number]) => createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account, pollingInterval: 50 })
  const requesterClient = client(requester!)
  const workerClients = workers.map(client)
  for (const w of workerClients) await w.stake({ value: parseEther('10'), peerId: toHex('12D3KooW-bench-peer-id-placeholder-000') })

  const rows: string[][] = []
  // The first job warms storage (job counter, accounts' balances), as on a live market; measure the second.
  for (const replicas of replicaCounts) {
    let measured: Record<string, number[]> = {}
    for (let round = 0; round < 2; round++) {
      measured = { postJob: [], commit: [], reveal: [], finalize: [] }
      const specHash = keccak256(toHex(`spec-${replicas}-${round}`))
      const posted = await requesterClient.postJob({ specHash, replicas, commitWindow: 600, revealWindow: 600, reward: parseEther('0.01') })
      measured.postJob!.push(Number(posted.receipt.gasUsed))
      const resultRoot = keccak256(toHex(`root-${replicas}`))
      const salts: Hex[] = []
      for (const w of workerClients.slice(0, replicas)) {
        const c = await w.commit({ jobId: posted.jobId, resultRoot })
        measured.commit!.push(Number(c.receipt.gasUsed))
        salts.push(c.salt)
      }
      for (const [i, w] of workerClients.slice(0, replicas).entries()) {
        const r = await w.reveal({ jobId: posted.jobId, resultRoot, salt: salts[i]! })
        measured.reveal!.push(Number(r.receipt.gasUsed))
      }
      const f = await requesterClient.finalize(posted.jobId)
      measured.finalize!.push(Number(f.receipt.gasUsed))
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
    const avg = (xs: number[]) => Math.round(sum(xs) / xs.length)
    const total = sum(Object.values(measured).flat())
    rows.push([String(replicas), String(measured.postJob![0]), String(avg(measured.commit!)), String(avg(measured.reveal!)), String(measured.finalize![0]), String(total)])
  }
  const header = ['replicas', 'postJob', 'commit (avg)', 'reveal (avg)', 'finalize', 'total per verified job']
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`)
  process.stdout.write(lines.join('\n') + '\n')
} finally {
  await anvil.stop()
}
