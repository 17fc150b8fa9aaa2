import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { text } from 'node:stream/consumers'
import { afterEach, describe, expect, it } from 'vitest'
import { openSealedStore, SealedStoreError } from './openSealedStore.ts'

const roots: string[] = []
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })))
})

async function freshRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'sandrun-sealed-test-'))
  roots.push(root)
  return root
}

const marker = 'sandrun-sealed-marker-7f3a'

describe('sealed store', () => {
  it('gives back exactly what was written, whole or streamed, at every record boundary', async () => {
    const store = await openSealedStore({ root: await freshRoot() })
    for (const size of [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 3 * 64 * 1024 + 17]) {
      const data = randomBytes(size)
      await store.write(`job/f${size}`, data)
      expect((await store.read(`job/f${size}`)).equals(data)).toBe(true)
      const streamed: Buffer[] = []
      for await (const chunk of store.open(`job/f${size}`)) streamed.push(chunk as Buffer)
      expect(Buffer.concat(streamed).equals(data)).toBe(true)
    }
  })

  it('never holds the plaintext on disk', async () => {
    const root = await freshRoot()
    const store = await openSealedStore({ root })
    await store.write('job/stdout', Buffer.from(`${marker}\n`.repeat(10_000)))
    const onDisk = await readFile(path.join(root, 'job', 'stdout'))
    expect(onDisk.length).toBeGreaterThan(0)
    expect(onDisk.includes(Buffer.from(marker))).toBe(false)
    expect(await text(store.open('job/stdout'))).toContain(marker)
  })

  it('a store opened again on the same root (a restart) removes what the earlier one sealed', async () => {
    const root = await freshRoot()
    const first = await openSealedStore({ root })
    await first.write('job-a/bundle', Buffer.from(marker))
    await first.write('job-b/x/y', Buffer.from(marker))
    expect(await readdir(root)).toHaveLength(2)
    const second = await openSealedStore({ root })
    expect(await readdir(root)).toEqual([])
    expect(second.has('job-a/bundle')).toBe(false)
    await expect(second.read('job-a/bundle')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('refuses a file that was altered or cut short', async () => {
    const root = await freshRoot()
    const store = await openSealedStore({ root })
    const data = randomBytes(2 * 64 * 1024 + 5)
    await store.write('job/out', data)
    const file = path.join(root, 'job', 'out')
    const sealed = await readFile(file)
    const flipped = Buffer.from(sealed)
    flipped[100]! ^= 1
    await writeFile(file, flipped)
    await expect(store.read('job/out')).rejects.toBeInstanceOf(SealedStoreError)
    // Cut at a record boundary: the records left are whole, but the last of them is not marked last.
    await writeFile(file, sealed)
    await truncate(file, 2 * (64 * 1024 + 16))
    await expect(store.read('job/out')).rejects.toMatchObject({ code: 'CORRUPT' })
  })

  it('removing a directory removes its files and forgets their keys', async () => {
    const root = await freshRoot()
    const store = await openSealedStore({ root })
    await store.write('job-a/one', Buffer.from('1'))
    await store.write('job-a/two/three', Buffer.from('3'))
    await store.write('job-b/one', Buffer.from('b'))
    await store.remove('job-a/')
    expect(store.has('job-a/one')).toBe(false)
    expect(store.has('job-a/two/three')).toBe(false)
    expect(await readdir(root)).toEqual(['job-b'])
    expect((await store.read('job-b/one')).toString()).toBe('b')
  })

  it('close() removes every file and forgets every key', async () => {
    const root = await freshRoot()
    const store = await openSealedStore({ root })
    await store.write('job-a/one', Buffer.from('1'))
    await store.write('job-b/two', Buffer.from('2'))
    await store.close()
    expect(await readdir(root)).toEqual([])
    expect(store.has('job-a/one')).toBe(false)
  })

  it('refuses names that could leave the store', async () => {
    const store = await openSealedStore({ root: await freshRoot() })
    for (const name of ['../x', '/etc/passwd', 'a/../../b', 'a//b', '.hidden', '']) {
      await expect(store.write(name, Buffer.from('x'))).rejects.toMatchObject({ code: 'INVALID_NAME' })
    }
  })
})
