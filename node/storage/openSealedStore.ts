// Job data at rest, encrypted: every file is AES-256-GCM under a key of its own, drawn at random
// and kept only in this process's memory. Removing a file forgets its key, and a process that dies
// takes every key with it, so whatever it left on disk is noise; opening a store deletes that noise.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

export type SealedStore = {
  /** The directory the ciphertext lives in (the store owns all of it). */
  readonly root: string
  /** Encrypts `data` under a fresh key into `name` (slash-separated segments of [A-Za-z0-9_.-]). */
  write(name: string, data: Uint8Array): Promise<void>
  /** The plaintext, authenticated; throws when this process did not write `name` or it was altered. */
  read(name: string): Promise<Buffer>
  /** The plaintext as a stream, decrypted and authenticated record by record. */
  open(name: string): Readable
  has(name: string): boolean
  /** Removes `name`, or with a trailing slash everything under it, and forgets their keys. */
  remove(name: string): Promise<void>
  /** Removes every file and forgets every key (a stopping process). */
  close(): Promise<void>
}

export type SealedStoreErrorCode = 'NOT_FOUND' | 'CORRUPT' | 'INVALID_NAME'

/** A sealed file is the host's: a missing or altered one is never the client's doing. */
const sealedStoreErrorCodes: ErrorCodeTable<SealedStoreErrorCode> = { NOT_FOUND: hostError, CORRUPT: hostError, INVALID_NAME: hostError }

export class SealedStoreError extends SandrunError<SealedStoreErrorCode> {
  override name = 'SealedStoreError'

  constructor(code: SealedStoreErrorCode, message: string) {
    super(code, message, sealedStoreErrorCodes)
  }
}

// 64 KiB records: a download streams without holding a whole file, and a flipped bit is caught
// before the record it is in reaches anyone.
const recordBytes = 64 * 1024
const tagBytes = 16
// Records go to and come from the disk 16 at a time: one system call per MiB, not per record.
const recordsPerIo = 16
const segment = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

/** GCM nonce of record `index`: unique per key because every file has its own key. */
function nonceOf(index: number): Buffer {
  const nonce = Buffer.alloc(12)
  nonce.writeBigUInt64BE(BigInt(index), 4)
  return nonce
}

/** The last record is bound as such (additional data 1), so a file cut at a record boundary fails. */
const finalFlag = (last: boolean): Buffer => Buffer.from([last ? 1 : 0])

function sealRecord(key: Buffer, index: number, last: boolean, plain: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonceOf(index))
  cipher.setAAD(finalFlag(last))
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()])
}

function openRecord(key: Buffer, index: number, last: boolean, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, nonceOf(index))
  decipher.setAAD(finalFlag(last))
  decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes))
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - tagBytes)), decipher.final()])
}

async function* decryptRecords(file: string, key: Buffer): AsyncGenerator<Buffer> {
  let handle: FileHandle | undefined
  try {
    handle = await open(file, 'r')
    const { size } = await handle.stat()
    const full = recordBytes + tagBytes
    const count = Math.max(1, Math.ceil(size / full))
    for (let first = 0; first < count; first += recordsPerIo) {
      const length = Math.min(full * recordsPerIo, size - first * full)
      const block = Buffer.alloc(length)
      const { bytesRead } = await handle.read(block, 0, length, first * full)
      if (bytesRead !== length) throw new SealedStoreError('CORRUPT', 'A sealed file changed while it was read.')
      const plain: Buffer[] = []
      for (let offset = 0, index = first; offset < length; offset += full, index++) {
        const sealed = block.subarray(offset, offset + full)
        if (sealed.length < tagBytes) throw new SealedStoreError('CORRUPT', 'A sealed file is truncated.')
        try {
          plain.push(openRecord(key, index, index === count - 1, sealed))
        } catch {
          throw new SealedStoreError('CORRUPT', 'A sealed file failed authentication: it was altered or cut short.')
        }
      }
      yield Buffer.concat(plain)
    }
  } finally {
    await handle?.close()
  }
}

export async function openSealedStore({ root }: { root: string }): Promise<SealedStore> {
  const absolute = path.resolve(root)
  await mkdir(absolute, { recursive: true, mode: 0o700 })
  const removeAll = async (): Promise<void> => {
    for (const entry of await readdir(absolute)) await rm(path.join(absolute, entry), { recursive: true, force: true })
  }
  // Everything here was sealed by an earlier process, whose keys died with it: unreadable, so removed.
  await removeAll()
  const keys = new Map<string, Buffer>()

  const fileOf = (name: string): string => {
    const parts = name.split('/')
    if (parts.length > 8 || !parts.every((part) => segment.test(part))) throw new SealedStoreError('INVALID_NAME', `"${name.slice(0, 200)}" is not a sealed file name.`)
    return path.join(absolute, ...parts)
  }
  const keyOf = (name: string): Buffer => {
    const key = keys.get(name)
    if (!key) throw new SealedStoreError('NOT_FOUND', 'No such sealed file in this process.')
    return key
  }
  const forget = (name: string): void => {
    keys.get(name)?.fill(0)
    keys.delete(name)
  }

  return {
    root: absolute,
    async write(name, data) {
      const file = fileOf(name)
      forget(name)
      const key = randomBytes(32)
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
      const handle = await open(file, 'w', 0o600)
      try {
        const count = Math.max(1, Math.ceil(data.byteLength / recordBytes))
        for (let first = 0; first < count; first += recordsPerIo) {
          const block: Buffer[] = []
          for (let index = first; index < Math.min(count, first + recordsPerIo); index++) {
            block.push(sealRecord(key, index, index === count - 1, data.subarray(index * recordBytes, (index + 1) * recordBytes)))
          }
          const bytes = Buffer.concat(block)
          for (let written = 0; written < bytes.length; ) written += (await handle.write(bytes, written)).bytesWritten
        }
      } catch (error) {
        // A disk that filled up mid-write: the part written is noise without the key, and goes too.
        await rm(file, { force: true })
        throw error
      } finally {
        await handle.close()
      }
      keys.set(name, key)
    },
    async read(name) {
      const key = keyOf(name)
      const parts: Buffer[] = []
      for await (const part of decryptRecords(fileOf(name), key)) parts.push(part)
      return Buffer.concat(parts)
    },
    open(name) {
      return Readable.from(decryptRecords(fileOf(name), keyOf(name)), { objectMode: false })
    },
    has: (name) => keys.has(name),
    async remove(name) {
      const prefix = name.endsWith('/') ? name : null
      const target = prefix === null ? fileOf(name) : fileOf(prefix.slice(0, -1))
      for (const known of [...keys.keys()]) if (known === name || (prefix !== null && known.startsWith(prefix))) forget(known)
      await rm(target, { recursive: true, force: true })
    },
    async close() {
      for (const known of [...keys.keys()]) forget(known)
      await removeAll()
    },
  }
}
