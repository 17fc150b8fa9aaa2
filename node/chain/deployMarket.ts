// Deploys SandrunMarket with the given parameters to any EVM chain and returns the Deployment
// record (chain id, address, block, tx, parameters, ABI version) that workers and gateways read.
import { createPublicClient, createWalletClient, type Account } from 'viem'
import { sandrunMarketAbi, sandrunMarketAbiVersion, sandrunMarketBytecode } from '../../contracts/abi.ts'
import type { Deployment } from './deployment.ts'
import { ChainError } from './errors.ts'
import { toMarketError } from './marketClient.ts'
import { defaultMarketParams, type MarketParams } from './marketParams.ts'
import { chainTransport } from './chainTransport.ts'

export type DeployMarketParameters = {
  rpcUrl: string
  account: Account
  params?: MarketParams
  pollingInterval?: number
}

export async function deployMarket({ rpcUrl, account, params = defaultMarketParams, pollingInterval = 250 }: DeployMarketParameters): Promise<Deployment> {
  const transport = chainTransport(rpcUrl)
  const publicClient = createPublicClient({ transport, pollingInterval })
  const walletClient = createWalletClient({ account, transport, pollingInterval })
  const chainId = await publicClient.getChainId()
  let hash
  try {
    hash = await walletClient.deployContract({ abi: sandrunMarketAbi, bytecode: sandrunMarketBytecode, args: [params], account, chain: null })
  } catch (error) {
    throw toMarketError(error)
  }
  const receipt = await publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new ChainError('MARKET_REVERTED', `deployment transaction ${hash} failed; check the parameters against docs/contracts.md.`)
  }
  return { chainId, market: receipt.contractAddress, deployBlock: receipt.blockNumber, deployTx: hash, params, abiVersion: sandrunMarketAbiVersion }
}
