// `sandrun verify` end to end: a real anvil and market, results committed from real files, the CLI
// as a user runs it. It exits 0 only for a verified result, and catches a gateway that serves a
// forged file while claiming the job completed.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Hex } from 'viem'
import { main } from '../../node/cli/main.ts'
import { hashOutputsFolder, resultEntries, resultRoot, type ResultEntry } from '../../verifier/index.ts'
import { startChainFixture, type ChainFixture } from './chainFixture.ts'
import { sandrunBin as bin } from '../runSandrunCli.ts'

const exec = promisify(execFile)
const files: Record<string, string> = { 'result.csv': 'x,y\n1,2\n', 'docs/notes.txt': 'notes' }

let chain: ChainFixture
let work: string
let outputs: string
let entries: ResultEntry[]
let entriesFile: string
let root: Hex
let verifiedJob: bigint

async function writeFolder(dir: string, content: Record<string, string>): Promise<string> {
  await rm(dir, { recursive: true, force: true })
  for (const [name, text] of Object.entries(content)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
    await writeFile(path.join(dir, name), text)
  }
  return dir
}

/** The real binary in a child process: exit status and output as a user sees them (slower: ~2 s each). */
async function sandrunProcess(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await exec(process.execPath, [bin, ...args], { cwd: work })
    return { code: 0, stdout }
  } catch (error) {
    const e = error as { code: number; stdout: string }
    return { code: e.code, stdout: e.stdout }
  }
}

/** The same CLI entry point in this process, for the many cases that need no process boundary. */
async function sandrun(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk)
    return true
  })
  try {
    return { code: await main(args), stdout }
  } finally {
    spy.mockRestore()
  }
}

const chainArgs = () => ['--rpc', chain.anvil.rpcUrl, '--deployment', chain.deploymentFile]

beforeAll(async () => {
  chain = await startChainFixture()
  work = await mkdtemp(path.join(tmpdir(), 'sandrun-verify-cli-'))
  outputs = await writeFolder(path.join(work, 'outputs'), files)
  const digests = await hashOutputsFolder(outputs)
  entries = resultEntries({
    exitCode: 0,
    termination: 'exited',
    stdout: Buffer.from('done\n'),
    stderr: Buffer.alloc(0),
    outputs: digests.map((d) => ({ path: d.path, sha256: d.sha256, sizeBytes: d.size })),
  })
  root = resultRoot(entries) as Hex
  entriesFile = path.join(work, 'entries.json')
  await writeFile(entriesFile, JSON.stringify(entries))
  verifiedJob = (await chain.settleJob({ roots: [root, root, `0x${'99'.repeat(32)}`] })).jobId
})
afterAll(async () => {
  await chain?.stop()
})

describe('sandrun verify --rpc --deployment (no gateway)', () => {
  it('verifies a finalized job and its outputs folder, printing who agreed and the transactions', async () => {
    const result = await sandrunProcess(['verify', String(verifiedJob), ...chainArgs(), '--dir', outputs, '--entries', entriesFile])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`consensus root  ${root}`)
    expect(result.stdout).toMatch(/slot 2 .*Dissented .*slashed 0\.1 ETH/)
    expect(result.stdout).toMatch(/finalized\s+tx 0x[0-9a-f]{64} \(block \d+, \d+ confirmations?\)/)
    expect(result.stdout).toMatch(/^VERIFIED \(chain\): a quorum of workers agreed/m)

    const json = await sandrun(['verify', String(verifiedJob), ...chainArgs(), '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ verified: true, method: 'chain', chain: { consensus_root: root, status: 'Finalized' } })
  })

  it('rejects a tampered file and a right file under the wrong path', async () => {
    const tampered = path.join(work, 'result.csv')
    await writeFile(tampered, 'x,y\n1,3\n')
    const result = await sandrun(['verify', String(verifiedJob), ...chainArgs(), '--file', tampered, '--entries', entriesFile])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/NOT VERIFIED \(chain\): outputs\/result\.csv was changed/)

    const moved = path.join(work, 'notes.txt')
    await writeFile(moved, 'notes')
    const wrongPath = await sandrun(['verify', String(verifiedJob), ...chainArgs(), '--file', moved, '--entries', entriesFile])
    expect(wrongPath.code).toBe(1)
    expect(wrongPath.stdout).toMatch(/this content is outputs\/docs\/notes\.txt of the result, not outputs\/notes\.txt/)

    const right = await sandrun(['verify', String(verifiedJob), ...chainArgs(), '--file', moved, '--path', 'docs/notes.txt', '--entries', entriesFile])
    expect(right.code).toBe(0)
  })

  it('names an extra and a missing file in a folder', async () => {
    const dir = await writeFolder(path.join(work, 'partial'), { 'result.csv': files['result.csv']!, 'mine.txt': 'extra' })
    const result = await sandrun(['verify', String(verifiedJob), ...chainArgs(), '--dir', dir, '--entries', entriesFile])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/extra\s+mine\.txt/)
    expect(result.stdout).toMatch(/missing\s+docs\/notes\.txt/)
    expect(result.stdout).toMatch(/^NOT VERIFIED/m)
  })

  it('does not verify a job that is not finalized yet, nor an inconclusive one', async () => {
    const open = await chain.settleJob({ roots: [root, root, root], finalize: false })
    const pending = await sandrun(['verify', String(open.jobId), ...chainArgs()])
    expect(pending.code).toBe(1)
    expect(pending.stdout).toMatch(/NOT VERIFIED \(chain\): JOB_NOT_FINALIZED: the job is still open/)

    const inconclusive = await chain.settleJob({ roots: [root, `0x${'98'.repeat(32)}`, null] })
    const result = await sandrun(['verify', String(inconclusive.jobId), ...chainArgs(), '--dir', outputs, '--entries', entriesFile])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/NOT VERIFIED \(chain\): JOB_INCONCLUSIVE/)

    const unknown = await sandrun(['verify', '12345', ...chainArgs()])
    expect(unknown.code).toBe(1)
    expect(unknown.stdout).toMatch(/JOB_NOT_FOUND/)
  })
})

describe('a gateway that serves a forged file', () => {
  let server: Server
  let gatewayUrl: string
  const forgedCsv = 'x,y\n1,999\n'

  beforeAll(async () => {
    // The stub is self-consistent: its status, output list, download and entries all describe the
    // forged file, and it points at the real, verified on-chain job.
    const forgedDir = await writeFolder(path.join(work, 'forged-src'), { ...files, 'result.csv': forgedCsv })
    const digests = await hashOutputsFolder(forgedDir)
    const forgedEntries = entries.map((e) => (e.name === 'outputs/result.csv' ? { ...e, sha256: digests.find((d) => d.path === 'result.csv')!.sha256, size: forgedCsv.length } : e))
    const outputFiles = Object.fromEntries(digests.map((d) => [d.path, { path: d.path, size_bytes: d.size, sha256_hash: d.sha256.slice(2), type: 'file' }]))
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://stub')
      const send = (body: unknown) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      if (url.pathname === '/status/gw-job') {
        return send({
          job_id: 'gw-job', status: 'completed', position: 0, submitted_at: new Date().toISOString(), started_at: null, finished_at: null,
          expires_at: new Date().toISOString(), execution_metadata: null, job_hash: root, output_files: outputFiles, worker_metadata: null,
          verification: { state: 'finalized', result_verified: true, chain_id: chain.deployment.chainId, market: chain.deployment.market, job_id: String(verifiedJob) },
        })
      }
      if (url.pathname === '/outputs/gw-job') return send({ job_id: 'gw-job', outputs: Object.values(outputFiles) })
      if (url.pathname === '/verify/gw-job') return send({ job_id: 'gw-job', method: 'chain', verified: true, entries: forgedEntries })
      const download = /^\/download\/gw-job\/(.+)$/.exec(url.pathname)
      if (download) return response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(download[1] === 'result.csv' ? forgedCsv : files[decodeURIComponent(download[1]!)])
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Not found' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve))
  })

  it('downloads fine (the gateway is consistent with itself) but does not verify against the chain', async () => {
    const dir = path.join(work, 'downloaded')
    const download = await sandrun(['download', 'gw-job', '--gateway', gatewayUrl, '--out', dir])
    expect(download.code).toBe(0)

    const folder = await sandrunProcess(['verify', 'gw-job', '--gateway', gatewayUrl, ...chainArgs(), '--dir', dir])
    expect(folder.code).toBe(1)
    expect(folder.stdout).toMatch(/unproven\s+result\.csv/)
    expect(folder.stdout).toMatch(/NOT VERIFIED \(chain\): .*the claimed result entries do not hash to root/)

    const file = await sandrun(['verify', 'gw-job', '--gateway', gatewayUrl, ...chainArgs(), '--file', path.join(dir, 'result.csv'), '--json'])
    expect(file.code).toBe(1)
    expect(JSON.parse(file.stdout)).toMatchObject({ verified: false, file: { code: 'ENTRIES_MISMATCH' } })

    // With the real entries (e.g. from another gateway or a worker) the forged byte is pinpointed.
    const pinpointed = await sandrun(['verify', 'gw-job', '--gateway', gatewayUrl, ...chainArgs(), '--file', path.join(dir, 'result.csv'), '--entries', entriesFile])
    expect(pinpointed.stdout).toMatch(/outputs\/result\.csv was changed/)
  })

  it('refuses to vouch for a market job without reading the chain itself', async () => {
    const result = await sandrun(['verify', 'gw-job', '--gateway', gatewayUrl])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/NOT VERIFIED \(worker-signature\): this is a market job: pass --rpc and --market 0x[0-9a-f]{40} \(or --deployment\)/)
  })
})
