// Deployment files: round trip, and refusal of files for another ABI, another chain or with
// malformed fields, each with a message that says to redeploy or upgrade.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { expect, it } from 'vitest'
import { sandrunMarketAbiVersion } from '../../contracts/abi.ts'
import { readDeployment, serializeDeployment, writeDeployment, type Deployment } from './deployment.ts'
import { defaultMarketParams, parseMarketParams } from './marketParams.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'sandrun-deployment-'))
const deployment: Deployment = {
  chainId: 31337,
  market: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  deployBlock: 1n,
  deployTx: `0x${'ab'.repeat(32)}`,
  params: defaultMarketParams,
  abiVersion: sandrunMarketAbiVersion,
}

it('round-trips, keeping wei amounts exact', () => {
  const file = path.join(dir, 'ok.json')
  writeDeployment(file, deployment)
  expect(readDeployment({ file, chainId: 31337 })).toEqual(deployment)
})

it('refuses another ABI version, another chain and malformed fields', () => {
  const write = (name: string, patch: Record<string, unknown>) => {
    const file = path.join(dir, name)
    writeFileSync(file, JSON.stringify({ ...JSON.parse(serializeDeployment(deployment)), ...patch }))
    return file
  }
  expect(() => readDeployment({ file: write('abi.json', { abiVersion: 'deadbeef' }) })).toThrow(expect.objectContaining({ code: 'DEPLOYMENT_ABI_MISMATCH' }))
  expect(() => readDeployment({ file: write('chain.json', {}), chainId: 1 })).toThrow(/for chain 31337 but the RPC serves chain 1/)
  expect(() => readDeployment({ file: write('addr.json', { market: '0x1234' }) })).toThrow(expect.objectContaining({ code: 'DEPLOYMENT_INVALID' }))
  expect(() => readDeployment({ file: path.join(dir, 'missing.json') })).toThrow(/sandrun deploy/)
})

it('parses parameter overrides in wei, eth and seconds', () => {
  const params = parseMarketParams('minCollateral=0.5eth, collateralMultiplier=4,maxRevealWindow=600')
  expect(params).toEqual({ ...defaultMarketParams, minCollateral: 5n * 10n ** 17n, collateralMultiplier: 4n, maxRevealWindow: 600n })
  expect(() => parseMarketParams('minCollateral=lots')).toThrow(expect.objectContaining({ code: 'PARAMS_INVALID' }))
})
