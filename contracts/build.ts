// `node --import tsx contracts/build.ts` (npm run build:contracts): compiles the contracts and
// writes contracts/artifacts/*.json, contracts/abi.ts and contracts/testing/abi.ts.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileContracts } from './compile.ts'

const contractsDir = path.dirname(fileURLToPath(import.meta.url))
const { contracts, files } = compileContracts()
for (const [relative, content] of Object.entries(files)) {
  const target = path.join(contractsDir, relative)
  mkdirSync(path.dirname(target), { recursive: true })
  writeFileSync(target, content)
}
for (const contract of contracts) {
  const size = (contract.bytecode.length - 2) / 2
  process.stdout.write(`${contract.contractName}: ${size} bytes of init code\n`)
}
process.stdout.write(`wrote ${Object.keys(files).join(', ')}\n`)
