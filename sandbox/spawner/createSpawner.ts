// The Node spawner: a small Node process, forked once, that starts job processes (the fallback
// where the native launcher cannot be built). Requests and events travel over Node's IPC channel.
import { type ChildProcess, fork } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SandboxError } from '../errors.ts'
import { createSpawnerClient, type Spawner } from './spawnerClient.ts'
import type { SpawnerEvent } from './spawnerMessages.ts'

// `.js` in the built package (dist/), `.ts` in the source tree: the same extension as this module.
const spawnerSource = fileURLToPath(new URL(`./spawnerProcess${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url))

/**
 * The spawner's TypeScript, stripped of types into a plain module in `dir` (cached by content).
 * Run under the tsx loader the spawner weighs ~80 MB, and fork's cost grows with that; as plain
 * JavaScript it is about half, which saves ~1 ms per job start.
 */
function compiledSpawner(dir: string): { file: string; compile: (() => Promise<void>) | null } {
  const source = readFileSync(spawnerSource, 'utf8')
  const file = path.join(dir, `spawner-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.mjs`)
  if (existsSync(file)) return { file, compile: null }
  return {
    file,
    async compile() {
      // Loaded only here: esbuild's API stays out of the memory of every process that has the
      // native launcher or finds the compiled spawner cached.
      const { transformSync } = await import('esbuild')
      const { code } = transformSync(source, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: 'spawnerProcess.ts' })
      writeFileSync(`${file}.${process.pid}.tmp`, code)
      renameSync(`${file}.${process.pid}.tmp`, file)
    },
  }
}

export type CreateSpawnerParameters = {
  /** Where the compiled spawner module is kept. */
  dir: string
}

export async function createSpawner({ dir }: CreateSpawnerParameters): Promise<Spawner> {
  const { file, compile } = compiledSpawner(dir)
  // Forked in the same turn as the call when the module is cached: a replacement launcher is in
  // place before anything else runs (warmPool relies on that after losing one).
  if (compile) await compile()
  const child: ChildProcess = fork(file, [], {
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  // Ready once its module has loaded, so the first job does not pay the start-up.
  await new Promise<void>((resolve, reject) => {
    const onMessage = (event: SpawnerEvent) => {
      if (event.type !== 'ready') return
      child.off('message', onMessage)
      resolve()
    }
    child.on('message', onMessage)
    child.once('error', reject)
    child.once('exit', (code) => reject(new SandboxError('SANDBOX_FAILED', 'The sandbox process launcher did not start.', { details: `exit ${code}` })))
  })
  let closed = false
  const client = createSpawnerClient((message) => {
    if (closed || !child.connected) return false
    child.send(message)
    return true
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // After 'close': messages it sent before it died are delivered first.
  child.once('close', () => client.failAll('spawner exited'))
  child.on('message', (event: SpawnerEvent) => client.handle(event))

  return {
    kind: 'node',
    pids: new Set([child.pid!]),
    exited,
    get alive() {
      return !closed && child.connected && child.exitCode === null && child.signalCode === null
    },
    spawn: client.spawn,
    async close() {
      closed = true
      if (child.exitCode !== null || child.signalCode !== null) return
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.disconnect()
      await gone
    },
  }
}
