// `sandrun dev fund`: sends dev-chain ETH from anvil's first dev account to a second operator's
// account (an address, or the eth account derived from a worker key file), so joining the dev
// network needs no raw JSON-RPC. Reads the running network's RPC URL from its data dir.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { createPublicClient, createWalletClient, formatEther, isAddress, parseEther, type Address, type Hash } from 'viem'
import { loadWorkerKey } from '../../verifier/index.ts'
import { devAccounts } from '../chain/devAccounts.ts'
import { ethAccountFromWorkerKey } from '../market/ethAccount.ts'
import { devNetworkFile } from './startDevNetwork.ts'
import { chainTransport } from '../chain/chainTransport.ts'

export type FundDevAccountParameters = {
  /** The dev network's data dir (`sandrun dev --data-dir`). */
  dataDir: string
  /** 0x address, or a worker key file whose derived account is funded. */
  target: string
  eth: string
}

export type FundDevAccountReturnType = { address: Address; hash: Hash; rpcUrl: string; balanceEth: string }

export async function fundDevAccount({ dataDir, target, eth }: FundDevAccountParameters): Promise<FundDevAccountReturnType> {
  const file = path.join(path.resolve(dataDir), devNetworkFile)
  let rpcUrl: string
  try {
    rpcUrl = (JSON.parse(await readFile(file, 'utf8')) as { rpc_url: string }).rpc_url
  } catch {
    throw new Error(`No running dev network found (${file} is missing); start one with \`sandrun dev\`${dataDir === '.sandrun/dev' ? '' : ` --data-dir ${dataDir}`} first.`)
  }
  const address = isAddress(target) ? target : ethAccountFromWorkerKey(await loadWorkerKey(target)).address
  let value: bigint
  try {
    value = parseEther(eth)
  } catch {
    throw new Error(`The amount must be ETH like 10 or 0.5, not "${eth}".`)
  }
  if (value <= 0n) throw new Error(`The amount must be more than 0 ETH, not "${eth}".`)
  const wallet = createWalletClient({ account: devAccounts(1)[0]!, transport: chainTransport(rpcUrl) })
  const client = createPublicClient({ transport: chainTransport(rpcUrl), pollingInterval: 100 })
  const hash = await wallet.sendTransaction({ to: address, value, chain: null }).catch((cause: unknown) => {
    throw new Error(`The dev chain at ${rpcUrl} did not take the transfer; is \`sandrun dev\` still running?`, { cause })
  })
  await client.waitForTransactionReceipt({ hash })
  return { address, hash, rpcUrl, balanceEth: formatEther(await client.getBalance({ address })) }
}
