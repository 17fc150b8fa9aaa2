import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  generateWorkerKey,
  loadWorkerKey,
  saveWorkerKey,
  signResultRoot,
  verifyWorkerSignature,
  workerIdFromPublicKey,
  workerKeyFromSeed,
  workerMetadata,
} from './workerIdentity.ts'

// RFC 8032 §7.1 test 1.
const rfcSeed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')
const rfcPublicKey = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex')
const root = `0x${'5d'.repeat(32)}`
const otherRoot = `0x${'5e'.repeat(32)}`

// Node wraps raw Ed25519 keys in fixed DER prefixes (RFC 8410).
const spki = (publicKey: Uint8Array) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]), format: 'der', type: 'spki' })
const pkcs8 = (seed: Uint8Array) => createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
const signedBytes = (r: string) => Buffer.concat([Buffer.from('sandrun-result-v1:'), Buffer.from(r.slice(2), 'hex')])

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sandrun-key-'))
  dirs.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

describe('worker keys', () => {
  it('derives the RFC 8032 public key from a seed, and the worker_id is its base64', () => {
    const key = workerKeyFromSeed(rfcSeed)
    expect(Buffer.from(key.publicKey)).toEqual(rfcPublicKey)
    expect(key.workerId).toBe('11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=')
    expect(workerIdFromPublicKey(rfcPublicKey)).toBe(key.workerId)
  })

  it('generates a different key each time', () => {
    expect(generateWorkerKey().workerId).not.toBe(generateWorkerKey().workerId)
  })

  it('refuses keys of the wrong length', () => {
    expect(() => workerKeyFromSeed(new Uint8Array(31))).toThrowError(expect.objectContaining({ code: 'KEY_INVALID' }))
    expect(() => workerIdFromPublicKey(new Uint8Array(33))).toThrowError(/32 bytes/)
  })
})

describe('result signatures', () => {
  it('signs "sandrun-result-v1:" || root bytes, as Node’s own Ed25519 signs it', () => {
    const key = workerKeyFromSeed(rfcSeed)
    const signature = signResultRoot(key, root)
    expect(signature).toBe(sign(null, signedBytes(root), pkcs8(rfcSeed)).toString('base64'))
    expect(verify(null, signedBytes(root), spki(key.publicKey), Buffer.from(signature, 'base64'))).toBe(true)
    expect(verify(null, signedBytes(otherRoot), spki(key.publicKey), Buffer.from(signature, 'base64'))).toBe(false)
  })

  it('verifies a signature made by Node’s crypto with a fresh key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519')
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12)
    const signature = sign(null, signedBytes(root), privateKey).toString('base64')
    expect(verifyWorkerSignature({ workerId: raw.toString('base64'), root, signature })).toBe(true)
    expect(verifyWorkerSignature({ workerId: raw.toString('base64'), root: otherRoot, signature })).toBe(false)
  })

  it('accepts the right worker and root, and nothing else', () => {
    const key = generateWorkerKey()
    const { worker_id: workerId, signature } = workerMetadata(key, root)
    expect(workerId).toBe(key.workerId)
    expect(verifyWorkerSignature({ workerId, root, signature })).toBe(true)
    expect(verifyWorkerSignature({ workerId, root: otherRoot, signature })).toBe(false)
    expect(verifyWorkerSignature({ workerId: generateWorkerKey().workerId, root, signature })).toBe(false)
    const tampered = Buffer.from(signature, 'base64')
    tampered[10]! ^= 0x01
    expect(verifyWorkerSignature({ workerId, root, signature: tampered.toString('base64') })).toBe(false)
    expect(verifyWorkerSignature({ workerId, root, signature: 'not base64!' })).toBe(false)
    expect(verifyWorkerSignature({ workerId: 'short', root, signature })).toBe(false)
  })

  it('refuses to sign something that is not a 32-byte root', () => {
    expect(() => signResultRoot(generateWorkerKey(), '0x1234')).toThrowError(expect.objectContaining({ code: 'HEX_INVALID' }))
  })
})

describe('key files', () => {
  it('round-trips through a 0600 JSON file in the documented format', async () => {
    const file = path.join(await tempDir(), 'worker.key')
    const key = generateWorkerKey()
    await saveWorkerKey(file, key)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>
    expect(json).toEqual({
      type: 'ed25519',
      private_key: Buffer.from(key.privateKey).toString('base64'),
      public_key: key.workerId,
      worker_id: key.workerId,
    })
    expect(Buffer.from(json.private_key!, 'base64')).toHaveLength(32)
    const loaded = await loadWorkerKey(file)
    expect(loaded.workerId).toBe(key.workerId)
    expect(verifyWorkerSignature({ workerId: key.workerId, root, signature: signResultRoot(loaded, root) })).toBe(true)
  })

  it('refuses to overwrite a key unless asked, and leaves the old key intact', async () => {
    const file = path.join(await tempDir(), 'worker.key')
    const first = generateWorkerKey()
    await saveWorkerKey(file, first)
    await expect(saveWorkerKey(file, generateWorkerKey())).rejects.toMatchObject({ code: 'KEY_FILE_EXISTS' })
    expect((await loadWorkerKey(file)).workerId).toBe(first.workerId)
    const second = generateWorkerKey()
    await saveWorkerKey(file, second, { overwrite: true })
    expect((await loadWorkerKey(file)).workerId).toBe(second.workerId)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
  })

  it('refuses a key file other users can read, saying how to fix it', async () => {
    const file = path.join(await tempDir(), 'worker.key')
    await saveWorkerKey(file, generateWorkerKey())
    await chmod(file, 0o644)
    await expect(loadWorkerKey(file)).rejects.toMatchObject({ code: 'KEY_FILE_UNREADABLE', shortMessage: expect.stringContaining('chmod 600') })
  })

  it('refuses a missing file and files whose keys do not belong together', async () => {
    const dir = await tempDir()
    await expect(loadWorkerKey(path.join(dir, 'missing.key'))).rejects.toMatchObject({ code: 'KEY_FILE_UNREADABLE' })
    const file = path.join(dir, 'worker.key')
    const key = generateWorkerKey()
    const write = (content: unknown) => writeFile(file, typeof content === 'string' ? content : JSON.stringify(content), { mode: 0o600 })
    const good = { type: 'ed25519', private_key: Buffer.from(key.privateKey).toString('base64'), public_key: key.workerId, worker_id: key.workerId }
    for (const bad of [
      'not json',
      { ...good, type: 'secp256k1' },
      { ...good, worker_id: generateWorkerKey().workerId },
      { ...good, private_key: Buffer.from(key.privateKey).subarray(1).toString('base64') },
    ]) {
      await write(bad)
      await expect(loadWorkerKey(file), JSON.stringify(bad)).rejects.toMatchObject({ code: 'KEY_INVALID' })
    }
  })
})
