// The shipped systemd units (contrib/systemd) as an operator installs them: the gateway in local
// mode, then a pool gateway with a worker behind it, each as the unprivileged user `sandrun` with
// the service's cgroup delegated; a job's memory limit holds in both. It installs units and files
// under /etc and /opt, so it runs only in the throwaway test VM (`npm run test:vm`).
import { execFileSync } from 'node:child_process'
import { chownSync, copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { generateWorkerKey, saveWorkerKey } from '../../verifier/index.ts'
import { hostSlowdown } from '../host/hostSlowdown.ts'
import { probeSystemdUser } from '../host/probeSystemdUser.ts'
import { probeTestVm } from '../host/probeTestVm.ts'
import { requireHost } from '../host/requireHost.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const units = ['sandrun-gateway.service', 'sandrun-worker.service']
const url = 'http://127.0.0.1:18443'
const inVm = probeTestVm()
const systemd = probeSystemdUser()

// Each test starts Node services (a gateway, a worker): minutes on an emulated CPU.
const testTimeout = 120_000 * hostSlowdown()
const systemctl = (...args: string[]) => execFileSync('systemctl', args, { encoding: 'utf8' })

beforeAll(() => {
  if (!inVm.supported || !systemd.supported) return
  rmSync('/opt/sandrun', { force: true })
  symlinkSync(root, '/opt/sandrun')
  for (const unit of units) copyFileSync(path.join(root, 'contrib/systemd', unit), path.join('/etc/systemd/system', unit))
  mkdirSync('/etc/sandrun', { recursive: true })
  systemctl('daemon-reload')
})
afterAll(() => {
  if (!inVm.supported || !systemd.supported) return
  systemctl('stop', ...units)
})
beforeEach((context) => {
  requireHost(context, inVm)
  requireHost(context, systemd)
})

/** Journal lines of a unit, for a failure message. */
const journal = (unit: string) => execFileSync('journalctl', ['-u', unit, '-n', '30', '--no-pager'], { encoding: 'utf8' })

async function getJson<T>(route: string): Promise<T | undefined> {
  try {
    const response = await fetch(`${url}${route}`)
    return response.ok ? ((await response.json()) as T) : undefined
  } catch {
    return undefined // not listening yet
  }
}

/**
 * Polls until `ready` holds for the route's body; fails with the units' journal if one stops or
 * restarts, or is still not ready shortly before the test's own timeout (so the failure says why).
 */
async function until<T>(route: string, ready: (body: T) => boolean): Promise<T> {
  const giveUp = Date.now() + testTimeout - 60_000
  for (;;) {
    const body = await getJson<T>(route)
    if (body !== undefined && ready(body)) return body
    for (const unit of started) {
      const [state = '', restarts = '0'] = systemctl('show', '-p', 'ActiveState', '-p', 'NRestarts', '--value', unit).trim().split('\n')
      if (state === 'failed' || state === 'inactive' || Number(restarts) > 0 || Date.now() > giveUp) throw new Error(`${unit} is ${state} after ${restarts} restarts:\n${journal(unit)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** Units (re)started by the running test. */
const started: string[] = []
function restart(...units: string[]): void {
  started.splice(0, started.length, ...units)
  systemctl('restart', ...units)
}

type Status = { status: string; execution_metadata?: { termination: string } | null }

async function runHog(): Promise<Status> {
  const form = new FormData()
  const files = { 'hog.py': "x = bytearray(200 * 1024 * 1024)\nfor i in range(0, len(x), 4096):\n    x[i] = 1\n" }
  form.append('files', new Blob([await packFiles(files)]), 'job.tar.gz')
  form.append('manifest', JSON.stringify({ entrypoint: 'hog.py', memory_mb: 64 }))
  const submitted = (await (await fetch(`${url}/submit`, { method: 'POST', body: form })).json()) as { job_id: string }
  for (;;) {
    const status = (await (await fetch(`${url}/status/${submitted.job_id}?wait=30`)).json()) as Status
    if (status.status === 'completed' || status.status === 'failed') return status
  }
}

function writeEnv(name: string, args: string): void {
  writeFileSync(`/etc/sandrun/${name}.env`, `SANDRUN_ARGS=${args}\n`)
}

it('the gateway unit (local mode) runs jobs as a non-root user with full isolation', { timeout: testTimeout }, async () => {
  writeEnv('gateway', '--mode local --port 18443 --data-dir /run/sandrun-gateway')
  restart('sandrun-gateway.service')
  const health = await until<{ isolation: string; isolation_note: string | null }>('/health', () => true)
  expect(health.isolation).toBe('full')
  expect(systemctl('show', '-p', 'User', '--value', 'sandrun-gateway.service').trim()).toBe('sandrun')
  expect((await runHog()).execution_metadata?.termination).toBe('oom')
})

it('the worker unit (pool mode) runs the jobs of a pool gateway with full limits', { timeout: testTimeout }, async () => {
  const gatewayKey = generateWorkerKey()
  const workerKey = generateWorkerKey()
  for (const [file, key] of [['gateway-key.json', gatewayKey], ['worker-key.json', workerKey]] as const) {
    rmSync(`/etc/sandrun/${file}`, { force: true })
    await saveWorkerKey(`/etc/sandrun/${file}`, key)
    chownSync(`/etc/sandrun/${file}`, systemd.user!.uid, systemd.user!.gid)
  }
  writeFileSync('/etc/sandrun/workers.json', JSON.stringify([{ worker_id: workerKey.workerId, max_concurrent_jobs: 2 }]))
  const peer = peerIdFromPublicKey(publicKeyFromRaw(gatewayKey.publicKey)).toString()
  writeEnv('gateway', '--mode pool --workers /etc/sandrun/workers.json --key /etc/sandrun/gateway-key.json --listen /ip4/127.0.0.1/tcp/14001 --port 18443')
  writeEnv('worker', `--mode pool --key /etc/sandrun/worker-key.json --bootstrap /ip4/127.0.0.1/tcp/14001/p2p/${peer}`)
  restart('sandrun-gateway.service', 'sandrun-worker.service')
  type Pool = { workers: Array<{ worker_id: string; healthy: boolean; connected: boolean }> }
  await until<Pool>('/pool', (pool) => pool.workers.some((w) => w.worker_id === workerKey.workerId && w.healthy && w.connected))
  expect((await runHog()).execution_metadata?.termination).toBe('oom')
})
