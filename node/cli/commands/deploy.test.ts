// `sandrun deploy` against a real anvil: writes a deployment file that readDeployment accepts and
// that points at a working market; bad keys and parameters fail with a message and no key echo.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { startAnvil, type StartAnvilReturnType } from '../../chain/anvil.ts'
import { readDeployment } from '../../chain/deployment.ts'
import { createMarketClient } from '../../chain/marketClient.ts'
import { run } from './deploy.ts'

let anvil: StartAnvilReturnType
const dir = mkdtempSync(path.join(tmpdir(), 'sandrun-deploy-'))
// Generated per run; funded below through anvil_setBalance, so no key lives in the repo.
const key = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}`

beforeAll(async () => {
  anvil = await startAnvil({ accounts: 1 })
  const { privateKeyToAccount } = await import('viem/accounts')
  const { address } = privateKeyToAccount(key as `0x${string}`)
  await fetch(anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_setBalance', params: [address, '0x56bc75e2d63100000'] }),
  })
})
afterAll(async () => anvil?.stop())

function captureOutput() {
  const out: string[] = []
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0),
  ]
  return { text: () => out.join(''), restore: () => {
      for (const spy of spies) spy.mockRestore()
    },
  }
}

it('deploys with a key file and parameter overrides and writes a usable deployment file', async () => {
  const keyFile = path.join(dir, 'key.txt')
  writeFileSync(keyFile, `${key}\n`)
  const out = path.join(dir, 'deployment.json')
  const output = captureOutput()
  const code = await run(['--rpc', anvil.rpcUrl, '--key', keyFile, '--out', out, '--params', 'minCollateral=0.5eth,unbondingPeriod=3600'])
  output.restore()
  expect(code).toBe(0)
  expect(output.text()).not.toContain(key.slice(2))

  const deployment = readDeployment({ file: out, chainId: 31337 })
  expect(deployment.params.minCollateral).toBe(5n * 10n ** 17n)
  expect(deployment.params.unbondingPeriod).toBe(3600n)
  const market = createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market })
  expect(await market.getParams()).toMatchObject({ minCollateral: 5n * 10n ** 17n, unbondingPeriod: 3600n, collateralMultiplier: 3n })
  expect((await market.getTotals()).jobCount).toBe(0n)
})

it('refuses a malformed key without echoing it, and unknown parameters', async () => {
  const bogus = '0x1234deadbeef'
  await expect(run(['--rpc', anvil.rpcUrl, '--key', bogus])).rejects.toMatchObject({ code: 'KEY_INVALID', message: expect.not.stringContaining('deadbeef') })
  await expect(run(['--rpc', anvil.rpcUrl, '--key', key, '--params', 'quorum=3'])).rejects.toMatchObject({ code: 'PARAMS_INVALID' })
})

it('contract-side parameter checks surface as a market error', async () => {
  await expect(run(['--rpc', anvil.rpcUrl, '--key', key, '--out', path.join(dir, 'x.json'), '--params', 'minCollateral=0'])).rejects.toMatchObject({
    errorName: 'MarketInvalidParams',
  })
})
