// The walk of a job's directory: bytewise order, no symlinks followed, and other work of the service
// goes on while it walks a directory of tens of thousands of entries.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createYielder } from '../createYielder.ts'
import { sortInSlices } from './sortInSlices.ts'
import { walkRegularFiles } from './walkRegularFiles.ts'

const root = mkdtempSync('/dev/shm/sandrun-walk-test-')
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('walkRegularFiles', () => {
  it('lists regular files bytewise by path, never through a symlink', async () => {
    const dir = path.join(root, 'order')
    mkdirSync(path.join(dir, 'a'), { recursive: true })
    for (const name of ['a/x', 'a-b', 'é', 'Z', 'a/y']) writeFileSync(path.join(dir, name), name)
    symlinkSync('/etc', path.join(dir, 'link'))
    const { files, incomplete } = await walkRegularFiles({ dir })
    expect(files.map((f) => f.path)).toEqual(['Z', 'a-b', 'a/x', 'a/y', 'é'])
    expect(incomplete).toBe(false)
  })

  it('lets the event loop run while it walks a directory of 20,000 entries', async () => {
    const dir = path.join(root, 'many')
    mkdirSync(dir)
    writeFileSync(path.join(dir, 'f'), '')
    for (let i = 0; i < 20_000; i++) symlinkSync('f', path.join(dir, `l${i}`))
    let turns = 0
    const ticker = setInterval(() => turns++, 0)
    const walk = walkRegularFiles({ dir })
    const { files } = await walk
    clearInterval(ticker)
    expect(files.map((f) => f.path)).toEqual(['f'])
    // The timer ran between slices of the walk, not only after it.
    expect(turns).toBeGreaterThan(3)
  })
})

describe('sortInSlices', () => {
  it('sorts as Array.prototype.sort does, in slices', async () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `k${(i * 7919) % 50_000}`)
    const sorted = await sortInSlices(keys, (k) => k, createYielder(0))
    expect(sorted).toEqual([...keys].sort())
  })
})
