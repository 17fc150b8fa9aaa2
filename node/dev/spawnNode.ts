// Starts one `sandrun <command>` process for the dev network and resolves when it prints its ready
// line (`sandrun <command> ready key=value ...` on stdout), parsed into fields. Its JSON log lines
// on stderr are passed to `onLog`; an exit before the ready line rejects with the last of them.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export type SpawnNodeParameters = {
  command: 'gateway' | 'worker' | 'dev'
  args: string[]
  /** Called with each stderr line (JSON logs); never job contents, the nodes do not log those. */
  onLog?: ((line: string) => void) | undefined
  /** How long to wait for the ready line (staking, sandbox detection and libp2p start take seconds). */
  readyTimeoutMs?: number
  /** A command that execs the node (e.g. `nsenter --net=<ns> --`); signals must reach the node itself. */
  launcher?: string[]
  /** Aborted before the ready line: the process is stopped and the start rejects. */
  signal?: AbortSignal
  /** The `sandrun` script to run (default: this tree's bin/sandrun, which is dist/bin/sandrun in a build). */
  cli?: string
}

export type SpawnedNode = {
  child: ChildProcess
  /** The ready line's key=value fields (url, peer, address, listen...). */
  ready: Record<string, string>
  /** Resolves when the process has exited. */
  exited: Promise<number | null>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>
}

const defaultCli = fileURLToPath(new URL('../../bin/sandrun', import.meta.url))

/**
 * Memory settings for the nodes the dev network (and the tests) start, measured in docs/BENCHMARKS.md
 * ("Dev network memory"): V8's young generation capped at 2 MiB per semi-space instead of 16 (the
 * default grows to 32 MiB of RSS in a node that mostly waits), and glibc's malloc told to map
 * buffers of 64 KiB and more on their own, so they go back to the system when freed instead of
 * staying in a fragmented heap. Settings the caller gives win; SANDRUN_NODE_MEMORY=default keeps
 * Node's own.
 */
function memorySettings(env: NodeJS.ProcessEnv): { nodeFlags: string[]; env: NodeJS.ProcessEnv } {
  if (env.SANDRUN_NODE_MEMORY === 'default') return { nodeFlags: [], env }
  const nodeFlags = /--max-semi-space-size/.test(env.NODE_OPTIONS ?? '') ? [] : ['--max-semi-space-size=2']
  return { nodeFlags, env: { MALLOC_MMAP_THRESHOLD_: '65536', ...env } }
}

export async function spawnNode({ command, args, onLog, readyTimeoutMs = 60_000, launcher = [], signal, cli = defaultCli }: SpawnNodeParameters): Promise<SpawnedNode> {
  const { nodeFlags, env } = memorySettings(process.env)
  // Flags Node refuses in NODE_OPTIONS (--cpu-prof): benchmarks profile the nodes through this.
  const extraFlags = (env.SANDRUN_NODE_FLAGS ?? '').split(' ').filter(Boolean)
  const [program, ...programArgs] = [...launcher, process.execPath, ...nodeFlags, ...extraFlags, cli, command, ...args] as [string, ...string[]]
  const child = spawn(program, programArgs, { stdio: ['ignore', 'pipe', 'pipe'], env })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const recent: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => {
    recent.push(line)
    if (recent.length > 5) recent.shift()
    onLog?.(line)
  })
  const stop = async (graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  const ready = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => fail(`printed no ready line within ${readyTimeoutMs / 1000} s`), readyTimeoutMs)
    function fail(why: string): void {
      clearTimeout(timer)
      reject(new Error(`sandrun ${command} ${why}. Its last log lines:\n${recent.join('\n')}`))
    }
    void exited.then((code) => fail(`exited with code ${code} before it was ready`))
    const abort = (): void => fail('was stopped before it was ready: another node of the network failed to start')
    if (signal?.aborted) abort()
    signal?.addEventListener('abort', abort, { once: true })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const prefix = `sandrun ${command} ready`
      if (!line.startsWith(prefix)) return
      clearTimeout(timer)
      const fields: Record<string, string> = {}
      for (const pair of line.slice(prefix.length).trim().split(/\s+/)) {
        const at = pair.indexOf('=')
        if (at > 0) fields[pair.slice(0, at)] = pair.slice(at + 1)
      }
      resolve(fields)
    })
  }).catch(async (error: unknown) => {
    await stop(2000)
    throw error
  })
  return { child, ready, exited, stop }
}
