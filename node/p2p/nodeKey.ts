// The node's libp2p identity is the Sandrun worker key (verifier/workerIdentity.ts), so the peer id
// and the worker_id that signs result roots are the same Ed25519 key. The key is created on first
// start and kept in the data dir, so a restarted node keeps its peer id (and its stake's identity).
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { generateWorkerKey, loadWorkerKey, saveWorkerKey, VerifierError, type WorkerKey } from '../../verifier/index.ts'
import { P2pError } from './errors.ts'

/** The key file name inside a data dir; the same name the gateway uses for its worker key. */
export const nodeKeyFileName = 'worker-key.json'

export type LoadNodeKeyParameters = {
  /** An explicit key file; when given it must exist (a typo must not silently create a new identity). */
  keyFile?: string | undefined
  /** Where the key lives when no key file is given; created with the key on first start. */
  dataDir?: string | undefined
}

export type LoadNodeKeyReturnType = {
  workerKey: WorkerKey
  privateKey: Ed25519PrivateKey
  /** The file the key came from or was written to; undefined for an ephemeral key. */
  file: string | undefined
}

/** Loads (or creates in `dataDir`) the node key; with neither option the key is ephemeral (tests). */
export async function loadNodeKey({ keyFile, dataDir }: LoadNodeKeyParameters = {}): Promise<LoadNodeKeyReturnType> {
  let workerKey: WorkerKey
  let file: string | undefined
  if (keyFile !== undefined) {
    file = keyFile
    workerKey = await loadWorkerKey(keyFile)
  } else if (dataDir !== undefined) {
    file = path.join(dataDir, nodeKeyFileName)
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    workerKey = await loadOrCreate(file)
  } else {
    workerKey = generateWorkerKey()
  }
  const privateKey = await generateKeyPairFromSeed('Ed25519', workerKey.privateKey)
  if (!equalBytes(privateKey.publicKey.raw, workerKey.publicKey)) {
    throw new P2pError('KEY_INVALID', `The libp2p key derived from ${file ?? 'the generated key'} does not match its worker_id.`)
  }
  return { workerKey, privateKey, file }
}

async function loadOrCreate(file: string): Promise<WorkerKey> {
  try {
    return await loadWorkerKey(file)
  } catch (error) {
    if (!(error instanceof VerifierError && error.code === 'KEY_FILE_UNREADABLE' && error.details === 'ENOENT')) throw error
  }
  const key = generateWorkerKey()
  try {
    await saveWorkerKey(file, key)
    return key
  } catch (error) {
    // Another process started on the same data dir at the same moment: use the key it wrote.
    if (error instanceof VerifierError && error.code === 'KEY_FILE_EXISTS') return loadWorkerKey(file)
    throw error
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}
