// Worker identity (docs/network.md, "Keys and accounts"): an Ed25519 key per worker, its worker_id (the base64 public key,
// as in Sandrun's workers.json), the key file, and signatures over result roots that let anyone tie
// a result to the worker that produced it.
//
// The file holds the 32-byte RFC 8032 seed, which is also what libp2p needs for the node's peer
// identity: `generateKeyPairFromSeed('Ed25519', seed)` from @libp2p/crypto gives the same key, and so
// does `privateKeyFromRaw(seed || publicKey)` (64 bytes). Not `privateKeyFromRaw(seed)`: 32 raw bytes
// are read there as a secp256k1 key.
import { createPrivateKey, type KeyObject, randomBytes, sign } from 'node:crypto'
import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ed25519 } from '@noble/curves/ed25519.js'
import { VerifierError } from './errors.ts'
import { hexToBytes } from './hex.ts'
import { errorCodeOf } from '../errors/index.ts'

export type WorkerKey = {
  /** The 32-byte Ed25519 seed (RFC 8032 private key). Never leaves the worker. */
  privateKey: Uint8Array
  /** The 32-byte Ed25519 public key. */
  publicKey: Uint8Array
  /** Base64 of the public key. */
  workerId: string
}

/** What results carry (`worker_metadata` in the REST API) so a client can check who signed the root. */
export type WorkerMetadata = { worker_id: string; signature: string }

/** The key file, as written to disk. */
type WorkerKeyFile = { type: 'ed25519'; private_key: string; public_key: string; worker_id: string }

/**
 * Signatures cover this tag followed by the 32 root bytes (50 bytes in all), so a worker key used for
 * libp2p or anything else can never be tricked into signing something that reads as a result root.
 */
export const resultSignatureTag = 'sandrun-result-v1:'

/** Base64 decode that refuses anything that does not re-encode to itself (Buffer skips junk silently). */
function strictBase64(value: unknown, length: number): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined
  const bytes = Buffer.from(value, 'base64')
  if (bytes.length !== length || bytes.toString('base64') !== value) return undefined
  return Uint8Array.from(bytes)
}

export function workerIdFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) {
    throw new VerifierError('KEY_INVALID', `An Ed25519 public key is 32 bytes, not ${publicKey.length}.`)
  }
  return Buffer.from(publicKey).toString('base64')
}

/** The worker key of a 32-byte seed: the same seed always gives the same worker_id. */
export function workerKeyFromSeed(seed: Uint8Array): WorkerKey {
  if (seed.length !== 32) {
    throw new VerifierError('KEY_INVALID', `An Ed25519 private key (seed) is 32 bytes, not ${seed.length}.`)
  }
  const publicKey = ed25519.getPublicKey(seed)
  return { privateKey: Uint8Array.from(seed), publicKey, workerId: workerIdFromPublicKey(publicKey) }
}

export function generateWorkerKey(): WorkerKey {
  return workerKeyFromSeed(ed25519.utils.randomSecretKey())
}

export type SaveWorkerKeyOptions = {
  /** Replace an existing file; without it an existing file is an error (KEY_FILE_EXISTS). */
  overwrite?: boolean
}

/**
 * Writes the key file with mode 0600. The file appears complete or not at all: it is written under a
 * temporary name and then linked (no overwrite, atomic refusal) or renamed (overwrite) into place.
 */
export async function saveWorkerKey(file: string, key: WorkerKey, { overwrite = false }: SaveWorkerKeyOptions = {}): Promise<void> {
  const content: WorkerKeyFile = {
    type: 'ed25519',
    private_key: Buffer.from(key.privateKey).toString('base64'),
    public_key: Buffer.from(key.publicKey).toString('base64'),
    worker_id: key.workerId,
  }
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  try {
    if (overwrite) {
      await rename(temporary, file)
      return
    }
    await link(temporary, file)
  } catch (error) {
    if (errorCodeOf(error) === 'EEXIST') {
      throw new VerifierError('KEY_FILE_EXISTS', `The key file ${file} already exists; keep it, or choose to overwrite it (sandrun keygen --force).`, {
        cause: error,
      })
    }
    throw error
  } finally {
    await unlink(temporary).catch(() => undefined)
  }
}

function invalidKeyFile(file: string, why: string): VerifierError {
  return new VerifierError('KEY_INVALID', `The key file ${file} is not a valid Sandrun worker key: ${why}.`, {
    details: 'create a new one with `sandrun keygen --out <file>`',
  })
}

/** Reads and checks a key file written by saveWorkerKey. Refuses files others can read, as ssh does. */
export async function loadWorkerKey(file: string): Promise<WorkerKey> {
  let text: string
  try {
    const { mode } = await stat(file)
    if ((mode & 0o077) !== 0) {
      throw new VerifierError('KEY_FILE_UNREADABLE', `The key file ${file} can be read by other users; run \`chmod 600 ${file}\`.`)
    }
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (error instanceof VerifierError) throw error
    throw new VerifierError('KEY_FILE_UNREADABLE', `Cannot read the key file ${file}; check the path, or create one with \`sandrun keygen\`.`, {
      details: errorCodeOf(error),
      cause: error,
    })
  }
  let parsed: Partial<Record<keyof WorkerKeyFile, unknown>>
  try {
    parsed = JSON.parse(text) as typeof parsed
  } catch {
    throw invalidKeyFile(file, 'it is not JSON')
  }
  if (parsed?.type !== 'ed25519') throw invalidKeyFile(file, 'its type is not "ed25519"')
  const seed = strictBase64(parsed.private_key, 32)
  if (!seed) throw invalidKeyFile(file, 'private_key is not the base64 of 32 bytes')
  const key = workerKeyFromSeed(seed)
  if (parsed.public_key !== key.workerId || parsed.worker_id !== key.workerId) {
    throw invalidKeyFile(file, 'public_key or worker_id does not belong to private_key')
  }
  return key
}

function signedMessage(root: string): Uint8Array {
  return Buffer.concat([Buffer.from(resultSignatureTag, 'utf8'), hexToBytes(root, { length: 32, what: 'result root' })])
}

// PKCS#8 prefix of an Ed25519 private key (RFC 8410): the 32-byte seed follows.
const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
const nodeKeys = new WeakMap<WorkerKey, KeyObject>()

/**
 * Base64 Ed25519 signature over `sandrun-result-v1:` || the 32 bytes of the 0x-hex root. Signs with
 * Node's native Ed25519 and a cached key object: a service signs every result, and deriving the key
 * in JavaScript on each call cost more than a millisecond. Ed25519 is deterministic, so the
 * signature is the same either way.
 */
export function signResultRoot(key: WorkerKey, root: string): string {
  let keyObject = nodeKeys.get(key)
  if (!keyObject) {
    keyObject = createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, key.privateKey]), format: 'der', type: 'pkcs8' })
    nodeKeys.set(key, keyObject)
  }
  return sign(null, signedMessage(root), keyObject).toString('base64')
}

/** The `worker_metadata` a result carries: who ran it and their signature over its root. */
export function workerMetadata(key: WorkerKey, root: string): WorkerMetadata {
  return { worker_id: key.workerId, signature: signResultRoot(key, root) }
}

export type VerifyWorkerSignatureParameters = {
  workerId: string
  /** 0x + 64 hex digits. */
  root: string
  signature: string
}

/**
 * True when `signature` is the worker's signature over this root. A malformed worker id or signature
 * (they come from the network) is simply not valid; a malformed root throws HEX_INVALID.
 */
export function verifyWorkerSignature({ workerId, root, signature }: VerifyWorkerSignatureParameters): boolean {
  const message = signedMessage(root)
  const publicKey = strictBase64(workerId, 32)
  const sig = strictBase64(signature, 64)
  if (!publicKey || !sig) return false
  try {
    // Strict RFC 8032 checks (no ZIP-215 leniency), matching OpenSSL and thus libp2p on Node.
    return ed25519.verify(sig, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}
