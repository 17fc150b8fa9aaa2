// The generated artifacts and ABI modules must match the Solidity sources: recompile in memory and
// compare byte for byte, so an edited contract without `npm run build:contracts` fails here.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { compileContracts } from './compile.ts'
import { sandrunMarketAbi, sandrunMarketAbiVersion } from './abi.ts'
import { abiVersionOf } from './compile.ts'

const contractsDir = path.dirname(fileURLToPath(import.meta.url))

it('generated contract files are up to date with the sources', () => {
  const { files } = compileContracts()
  expect(Object.keys(files).sort()).toEqual(['abi.ts', 'artifacts/ReentrantWorker.json', 'artifacts/SandrunMarket.json', 'testing/abi.ts'])
  for (const [relative, content] of Object.entries(files)) {
    const onDisk = readFileSync(path.join(contractsDir, relative), 'utf8')
    expect(onDisk === content, `contracts/${relative} is stale: run \`node --import tsx contracts/build.ts\``).toBe(true)
  }
}, 180_000) // solc-js compiles the market with viaIR: tens of seconds, minutes on a loaded machine

it('the ABI version names the ABI it was computed from', () => {
  expect(sandrunMarketAbiVersion).toBe(abiVersionOf(sandrunMarketAbi))
  expect(sandrunMarketAbi.some((item) => item.type === 'function' && item.name === 'finalize')).toBe(true)
})
