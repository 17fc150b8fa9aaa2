import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { generateKeyPairFromSeed, privateKeyFromRaw } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadWorkerKey } from '../../../verifier/index.ts'
import { sandrunBin as bin } from '../../../test/runSandrunCli.ts'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sandrun-keygen-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs the real CLI; resolves with its exit code and output whatever the code. */
async function sandrun(args: string[], cwd = dir): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { cwd })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('sandrun keygen', () => {
  it('writes ./sandrun-worker.key with mode 0600 and prints its worker_id', async () => {
    const result = await sandrun(['keygen'])
    expect(result.code).toBe(0)
    const file = path.join(dir, 'sandrun-worker.key')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(result.stdout).toBe(`${(await loadWorkerKey(file)).workerId}\n`)
  })

  it('refuses to overwrite a key without --force, and replaces it with --force', async () => {
    const file = path.join(dir, 'node-a.key')
    const first = await sandrun(['keygen', '--out', file])
    expect(first.code).toBe(0)
    const before = await readFile(file, 'utf8')

    const refused = await sandrun(['keygen', '--out', file])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('--force')
    expect(await readFile(file, 'utf8')).toBe(before)

    const forced = await sandrun(['keygen', '-o', file, '--force'])
    expect(forced.code).toBe(0)
    expect(forced.stdout).not.toBe(first.stdout)
    expect(forced.stdout).toBe(`${(await loadWorkerKey(file)).workerId}\n`)
  })

  it('answers an unknown option with the usage and exit code 2', async () => {
    const result = await sandrun(['keygen', '--outt', 'x.key'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Usage: sandrun keygen')
  })

  it('writes a key libp2p loads as the same Ed25519 identity', async () => {
    const file = path.join(dir, 'libp2p.key')
    expect((await sandrun(['keygen', '--out', file])).code).toBe(0)
    const key = await loadWorkerKey(file)
    const fromSeed = await generateKeyPairFromSeed('Ed25519', key.privateKey)
    expect(fromSeed.type).toBe('Ed25519')
    expect(Buffer.from(fromSeed.publicKey.raw).toString('base64')).toBe(key.workerId)
    const fromRaw = privateKeyFromRaw(Buffer.concat([key.privateKey, key.publicKey]))
    expect(fromRaw.publicKey.equals(fromSeed.publicKey)).toBe(true)
  })
})
