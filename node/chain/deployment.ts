// The deployment file `sandrun deploy` writes and workers and gateways read: which chain, which
// market address, from which block to scan events, the parameters and the ABI version.
import { readFileSync, writeFileSync } from 'node:fs'
import { isAddress, isHash, type Address, type Hash } from 'viem'
import { sandrunMarketAbiVersion } from '../../contracts/abi.ts'
import { ChainError } from './errors.ts'
import { marketParamNames, type MarketParams } from './marketParams.ts'

export type Deployment = {
  chainId: number
  market: Address
  deployBlock: bigint
  deployTx: Hash
  params: MarketParams
  abiVersion: string
}

/** JSON form: bigints as decimal strings so no precision is lost. */
export function serializeDeployment(deployment: Deployment): string {
  const params = Object.fromEntries(marketParamNames.map((k) => [k, deployment.params[k].toString()]))
  return JSON.stringify({ ...deployment, deployBlock: Number(deployment.deployBlock), params }, null, 2) + '\n'
}

export function writeDeployment(file: string, deployment: Deployment): void {
  writeFileSync(file, serializeDeployment(deployment))
}

export type ReadDeploymentParameters = { file: string; chainId?: number }

/** Read and validate a deployment file; refuses files for another ABI version or chain. */
export function readDeployment({ file, chainId }: ReadDeploymentParameters): Deployment {
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (cause) {
    throw new ChainError('DEPLOYMENT_INVALID', `cannot read deployment file ${file}; create it with \`sandrun deploy\`.`, { cause })
  }
  const invalid = (what: string): ChainError =>
    new ChainError('DEPLOYMENT_INVALID', `deployment file ${file}: ${what}; regenerate it with \`sandrun deploy\`.`)
  if (typeof raw.chainId !== 'number' || !Number.isSafeInteger(raw.chainId)) throw invalid('chainId must be an integer')
  if (typeof raw.market !== 'string' || !isAddress(raw.market)) throw invalid('market must be an address')
  if (typeof raw.deployBlock !== 'number' || raw.deployBlock < 0) throw invalid('deployBlock must be a block number')
  if (typeof raw.deployTx !== 'string' || !isHash(raw.deployTx)) throw invalid('deployTx must be a transaction hash')
  if (typeof raw.abiVersion !== 'string') throw invalid('abiVersion is missing')
  const rawParams = (raw.params ?? {}) as Record<string, unknown>
  const params = {} as MarketParams
  for (const key of marketParamNames) {
    const value = rawParams[key]
    if (typeof value !== 'string' || !/^\d+$/.test(value)) throw invalid(`params.${key} must be a decimal string`)
    params[key] = BigInt(value)
  }
  if (raw.abiVersion !== sandrunMarketAbiVersion) {
    throw new ChainError(
      'DEPLOYMENT_ABI_MISMATCH',
      `deployment file ${file} is for market ABI ${raw.abiVersion} but this sandrun speaks ${sandrunMarketAbiVersion}; upgrade sandrun or deploy a new market.`,
    )
  }
  if (chainId !== undefined && raw.chainId !== chainId) {
    throw invalid(`it is for chain ${raw.chainId} but the RPC serves chain ${chainId}`)
  }
  return { chainId: raw.chainId, market: raw.market, deployBlock: BigInt(raw.deployBlock), deployTx: raw.deployTx, params, abiVersion: raw.abiVersion }
}
