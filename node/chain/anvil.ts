// Starts a local anvil (the EVM dev chain from @foundry-rs/anvil on npm) on a free port, for
// tests, benchmarks and the single-machine `npm start`. Resolves when anvil says it listens.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ChainError } from './errors.ts'

export type StartAnvilParameters = {
  /** Seconds between blocks; omitted = automine (a block per transaction). */
  blockTime?: number
  /** Number of funded dev accounts (anvil's published mnemonic); default 10. */
  accounts?: number
  /** Ether per dev account; default 10000. */
  balance?: number
  chainId?: number
  /** Genesis block timestamp (unix seconds); default now. A fixed one makes block hashes repeatable. */
  timestamp?: number
  /**
   * Start the chain at this block number (a genesis file with `number`): a chain as long as a
   * public one in no time (anvil_mine slows down as its chain grows, past reach for a million blocks).
   */
  genesisBlockNumber?: number
  /** Port to listen on; default a free one. */
  port?: number
  /** Load the chain from this file if it exists and dump it there on exit (`--state`): a restart carries on. */
  statePath?: string
  /** How long to wait for anvil to listen before giving up; default 30 s. */
  startTimeoutMs?: number
}

export type StartAnvilReturnType = {
  rpcUrl: string
  port: number
  /** Kills anvil and resolves once it exited. */
  stop(): Promise<void>
}

const require = createRequire(import.meta.url)

/** Path of the anvil binary shipped by @foundry-rs/anvil-linux-amd64. */
export function anvilBinary(): string {
  try {
    return require.resolve('@foundry-rs/anvil-linux-amd64/bin/anvil')
  } catch (cause) {
    throw new ChainError('ANVIL_START_FAILED', 'anvil binary not found; run `npm ci` (needs @foundry-rs/anvil-linux-amd64 on linux x64).', { cause })
  }
}

// Every fork active from genesis, as anvil's own default chain has them.
const forks = ['homestead', 'eip150', 'eip155', 'eip158', 'byzantium', 'constantinople', 'petersburg', 'istanbul', 'berlin', 'london'].map((f) => [`${f}Block`, 0])

async function genesisFile({ genesisBlockNumber = 0, chainId = 31337, timestamp }: StartAnvilParameters): Promise<string> {
  const genesis = {
    config: { chainId, ...Object.fromEntries(forks), shanghaiTime: 0, cancunTime: 0, pragueTime: 0, terminalTotalDifficulty: 0, terminalTotalDifficultyPassed: true },
    number: `0x${genesisBlockNumber.toString(16)}`,
    timestamp: `0x${(timestamp ?? Math.floor(Date.now() / 1000)).toString(16)}`,
    gasLimit: '0x1c9c380',
    difficulty: '0x0',
    baseFeePerGas: '0x3b9aca00',
    alloc: {},
  }
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'sandrun-anvil-genesis-')), 'genesis.json')
  await writeFile(file, JSON.stringify(genesis))
  return file
}

export async function startAnvil(parameters: StartAnvilParameters = {}): Promise<StartAnvilReturnType> {
  const args = ['--host', '127.0.0.1', '--port', String(parameters.port ?? 0), '--accounts', String(parameters.accounts ?? 10)]
  args.push('--balance', String(parameters.balance ?? 10_000))
  if (parameters.blockTime !== undefined) args.push('--block-time', String(parameters.blockTime))
  if (parameters.chainId !== undefined) args.push('--chain-id', String(parameters.chainId))
  if (parameters.timestamp !== undefined) args.push('--timestamp', String(parameters.timestamp))
  if (parameters.statePath !== undefined) args.push('--state', parameters.statePath)
  if (parameters.genesisBlockNumber !== undefined) args.push('--init', await genesisFile(parameters))
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }

  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail('did not start listening in time'), parameters.startTimeoutMs ?? 30_000)
    function fail(why: string, cause?: unknown): void {
      clearTimeout(timer)
      reject(new ChainError('ANVIL_START_FAILED', `anvil ${why}.`, { details: output.slice(-2000), cause }))
    }
    child.once('error', (error) => fail('could not be spawned', error))
    child.once('exit', (code) => fail(`exited with code ${code} before listening`))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stdout.on('data', (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString()
      const match = /Listening on [\d.]+:(\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
  }).catch(async (error: unknown) => {
    await stop()
    throw error
  })
  // anvil logs every request; keep draining its pipes so it never blocks on a full buffer.
  child.stdout.removeAllListeners('data').resume()
  child.stderr.removeAllListeners('data').resume()
  return { rpcUrl: `http://127.0.0.1:${port}`, port, stop }
}
