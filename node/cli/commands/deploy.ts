// `sandrun deploy`: deploys the market contract to any EVM chain and writes the deployment file
// (chain id, address, block, tx, parameters, ABI version) that workers and gateways read.
import { existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { formatEther, isHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { deployMarket } from '../../chain/deployMarket.ts'
import { writeDeployment } from '../../chain/deployment.ts'
import { ChainError } from '../../chain/errors.ts'
import { marketParamNames, parseMarketParams } from '../../chain/marketParams.ts'

export const description = 'deploy the market contract to an EVM chain and write a deployment file'

const usage = `Usage: sandrun deploy --rpc <url> --key <0xhex|file> [--out deployment.json] [--params k=v,...]

  --rpc     JSON-RPC URL of the chain (e.g. http://127.0.0.1:8545)
  --key     deployer private key: 0x-prefixed hex, or a file containing it (preferred: keeps it out of shell history)
  --out     where to write the deployment file (default: ./deployment.json)
  --params  override economics, comma separated; keys: ${marketParamNames.join(', ')}
            amounts in wei or like 0.01eth, durations in seconds (defaults: docs/contracts.md)
`

/** Accept a 0x key or a file holding one; the key itself never appears in messages. */
export function loadPrivateKey(keyArg: string): `0x${string}` {
  let text = keyArg.trim()
  if (!text.startsWith('0x')) {
    if (!existsSync(text)) throw new ChainError('KEY_INVALID', '--key is neither a 0x-prefixed hex key nor an existing file; pass one of them.')
    text = readFileSync(text, 'utf8').trim()
  }
  if (!text.startsWith('0x')) text = `0x${text}`
  if (!isHex(text) || text.length !== 66) {
    throw new ChainError('KEY_INVALID', '--key must be a 32-byte private key in hex (64 hex digits, optional 0x prefix).')
  }
  return text
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rpc: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string', default: 'deployment.json' },
      params: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  if (!values.rpc || !values.key) {
    process.stderr.write(`sandrun deploy: --rpc and --key are required.\n\n${usage}`)
    return 2
  }
  const params = parseMarketParams(values.params)
  const account = privateKeyToAccount(loadPrivateKey(values.key))
  const deployment = await deployMarket({ rpcUrl: values.rpc, account, params })
  writeDeployment(values.out, deployment)
  process.stdout.write(
    [
      `market deployed at ${deployment.market} on chain ${deployment.chainId} (block ${deployment.deployBlock}, tx ${deployment.deployTx})`,
      `deployer ${account.address}; min collateral ${formatEther(params.minCollateral)} ETH, multiplier ${params.collateralMultiplier}, unbonding ${params.unbondingPeriod}s`,
      `wrote ${values.out}`,
    ].join('\n') + '\n',
  )
  return 0
}
