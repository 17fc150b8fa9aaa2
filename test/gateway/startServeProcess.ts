// Starts a real `sandrun serve` process (its own data directory, port 0) for the tests that need the
// service as operators run it: its own descriptor limit, its own memory. Its log lines are kept.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { sandrunBin as bin } from '../runSandrunCli.ts'


export type ServeProcess = {
  process: ChildProcess
  url: string
  port: number
  /** Every log line so far (JSON, one per line). */
  logLines: string[]
  close(): Promise<void>
}

/** `args`: more `sandrun serve` options; `nofile`: a file-descriptor limit to run it under. */
export async function startServeProcess({ args = [], nofile }: { args?: string[]; nofile?: number } = {}): Promise<ServeProcess> {
  const dataDir = await mkdtemp('/dev/shm/sandrun-serve-test-')
  const command = [process.execPath, bin, 'serve', '--port', '0', '--data-dir', dataDir, ...args]
  const server = nofile === undefined ? spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('prlimit', [`--nofile=${nofile}:${nofile}`, ...command], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise((resolve) => server.once('exit', resolve))
  const logLines: string[] = []
  const lines = createInterface({ input: server.stderr! })
  lines.on('line', (line) => logLines.push(line))
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { message: string; address?: string }
      if (entry.message === 'sandrun gateway listening') resolve(entry.address!)
    })
    server.once('exit', (code) => reject(new Error(`sandrun serve exited with ${code}`)))
  })
  return {
    process: server,
    url,
    port: Number(new URL(url).port),
    logLines,
    async close() {
      server.kill('SIGTERM')
      await exited
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
