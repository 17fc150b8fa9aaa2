// `sandrun worker` as a real process: it refuses --fault on a chain that is not a dev chain, and on
// anvil it stakes, prints its ready line, takes a job announced by the test's gateway stand-in, gets
// paid, withdraws its batched earnings on SIGUSR2, logs JSON lines without job contents, and stops
// cleanly on SIGTERM.
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAnvil } from '../../node/chain/anvil.ts'
import { writeDeployment } from '../../node/chain/deployment.ts'
import { ethAccountFromWorkerKey } from '../../node/market/ethAccount.ts'
import { generateWorkerKey, saveWorkerKey } from '../../verifier/workerIdentity.ts'
import { startWorkerHarness, type WorkerHarness } from './workerHarness.ts'
import { sandrunBin as bin } from '../runSandrunCli.ts'

const exec = promisify(execFile)

let h: WorkerHarness
let dir: string
beforeAll(async () => {
  h = await startWorkerHarness()
  dir = await mkdtemp(path.join(tmpdir(), 'sandrun-worker-cli-'))
})
afterAll(async () => {
  await h?.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('sandrun worker', () => {
  it('refuses --fault on a chain id that is not a local dev chain', async () => {
    const anvil = await startAnvil({ chainId: 5 })
    try {
      const failure = await exec(process.execPath, [bin, 'worker', '--rpc', anvil.rpcUrl, '--deployment', 'none.json', '--key', 'none.key', '--fault', 'no-reveal']).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      )
      expect(failure?.code).toBe(2)
      expect(failure?.stderr).toMatch(/--fault is only allowed on a local dev chain .* serves chain 5; drop --fault/)
    } finally {
      await anvil.stop()
    }
  })

  it('refuses a --confirmations that is not a whole number of blocks, before starting anything', async () => {
    const failure = await exec(process.execPath, [bin, 'worker', '--rpc', 'http://127.0.0.1:9', '--deployment', 'none.json', '--key', 'none.key', '--confirmations', 'two']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    )
    expect(failure?.code).toBe(2)
    expect(failure?.stderr).toContain('--confirmations must be a whole number of blocks >= 0, not "two"')
  })

  it('stakes, announces readiness, runs a job to a paid settlement and stops on SIGTERM', async () => {
    const deploymentFile = path.join(dir, 'deployment.json')
    writeDeployment(deploymentFile, h.deployment)
    const key = generateWorkerKey()
    const keyFile = path.join(dir, 'worker.key')
    await saveWorkerKey(keyFile, key)
    const address = ethAccountFromWorkerKey(key).address
    await h.fund(address)

    const child = spawn(process.execPath, [bin, 'worker', '--rpc', h.anvil.rpcUrl, '--deployment', deploymentFile, '--key', keyFile, '--data-dir', path.join(dir, 'data'), '--stake', '0.1', '--max-jobs', '1', '--confirmations', '5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = once(child, 'exit')
    const logLines: Array<Record<string, unknown>> = []
    const lines = createInterface({ input: child.stderr })
    lines.on('line', (line) => logLines.push(JSON.parse(line) as Record<string, unknown>))
    const logged = (message: string): Promise<void> =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!logLines.some((l) => l.message === message)) return
          lines.off('line', check)
          resolve()
        }
        lines.on('line', check)
        check()
      })
    try {
      const [ready] = (await once(createInterface({ input: child.stdout }), 'line')) as [string]
      const match = /^sandrun worker ready peer=(\S+) address=(\S+) listen=(\S+)$/.exec(ready)
      expect(match?.[2]).toBe(address)
      await h.connect(match![3]!.split(',')[0]!, match![1]!)
      expect((await h.requester.getAccount(address)).staked).toBe(10n ** 17n)
      // A dev chain's own depth is 0; the operator's 5 is what its transactions are watched for.
      await logged('worker ready')
      expect(logLines.find((l) => l.message === 'worker ready')?.watchDepth).toBe(5)

      const { jobId } = await h.postJob({ files: { 'main.sh': 'echo secret-output-7' }, entrypoint: 'main.sh', replicas: 1 })
      await logged('job settled')
      expect((await h.requester.getJob(jobId)).status).toBe('Finalized')
      // One reward is below the default threshold: it waits on chain until the operator asks.
      expect((await h.requester.getAccount(address)).balance).toBeGreaterThan(0n)
      child.kill('SIGUSR2')
      await logged('earnings withdrawn')
      expect((await h.requester.getAccount(address)).balance).toBe(0n)
      expect(logLines.map((l) => l.message)).toEqual(expect.arrayContaining(['worker ready', 'job running', 'result committed', 'result revealed', 'job settled', 'earnings withdrawn']))
      expect(logLines.every((l) => typeof l.time === 'string')).toBe(true)
      expect(JSON.stringify(logLines)).not.toContain('secret-output-7')
    } finally {
      child.kill('SIGTERM')
    }
    const [code] = await exited
    expect(code).toBe(0)
  })
})
