// `sandrun keygen`: creates a worker's Ed25519 identity key file and prints its worker_id, the value
// an operator puts in workers.json (pool mode) and the key the node uses as its libp2p identity.
import path from 'node:path'
import { parseArgs } from 'node:util'
import { generateWorkerKey, saveWorkerKey } from '../../../verifier/index.ts'
import { ethAccountFromWorkerKey } from '../../market/ethAccount.ts'
import { errorMessageOf } from '../../../errors/index.ts'

export const description = 'Create a worker key (Ed25519) and print its worker_id'

const defaultKeyFile = './sandrun-worker.key'

const usage = `Usage: sandrun keygen [--out <file>] [--force]

Writes a new Ed25519 worker key (mode 0600) and prints its worker_id on stdout.

Options:
  -o, --out <file>  where to write the key (default ${defaultKeyFile})
  -f, --force       replace an existing key file (its old identity is lost)
  -h, --help        show this help
`

export async function run(argv: string[]): Promise<number> {
  let values: { out?: string | undefined; force?: boolean | undefined; help?: boolean | undefined }
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string', short: 'o' },
        force: { type: 'boolean', short: 'f' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    process.stderr.write(`sandrun keygen: ${errorMessageOf(error)}\n\n${usage}`)
    return 2
  }
  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  const file = path.resolve(values.out ?? defaultKeyFile)
  const key = generateWorkerKey()
  await saveWorkerKey(file, key, { overwrite: values.force === true })
  process.stderr.write(`Wrote worker key to ${file} (mode 0600). Keep it private; share only the worker_id.\n`)
  process.stderr.write(`Its market account (stakes, pays gas, gets paid; fund it): ${ethAccountFromWorkerKey(key).address}\n`)
  process.stdout.write(`${key.workerId}\n`)
  return 0
}
