// What sealing job files at rest costs (node/storage/openSealedStore.ts): writing and reading back a
// result of each size, sealed (AES-256-GCM records) against plain writeFile/readFile of the same
// bytes into the same directory, in the same run. Prints a Markdown table for docs/BENCHMARKS.md.
// Usage: node --import tsx bench/storage/sealed.ts [--dir <dir on the disk to measure>] [--rounds 5]
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { openSealedStore } from '../../node/storage/openSealedStore.ts'

const { values } = parseArgs({ options: { dir: { type: 'string' }, rounds: { type: 'string' } } })
const rounds = Number(values.rounds ?? 5)
const base = await mkdtemp(path.join(values.dir ?? tmpdir(), 'sandrun-bench-sealed-'))
const store = await openSealedStore({ root: path.join(base, 'sealed') })

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
async function time(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await run()
  return performance.now() - start
}

console.log('| size | plain write + read | sealed write + read | ratio | sealed throughput |')
console.log('| --- | --- | --- | --- | --- |')
for (const size of [4 * 1024, 1024 * 1024, 16 * 1024 * 1024, 100 * 1024 * 1024]) {
  const data = randomBytes(size)
  const plain: number[] = []
  const sealed: number[] = []
  for (let round = 0; round < rounds; round++) {
    process.stderr.write(`\r${(size / 1024 / 1024).toFixed(2)} MiB: round ${round + 1}/${rounds}   `)
    plain.push(await time(async () => {
      await writeFile(path.join(base, 'plain'), data)
      await readFile(path.join(base, 'plain'))
    }))
    sealed.push(await time(async () => {
      await store.write('job/file', data)
      await store.read('job/file')
    }))
  }
  const p = median(plain)
  const s = median(sealed)
  const label = size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : `${size / 1024} KiB`
  console.log(`| ${label} | ${p.toFixed(2)} ms | ${s.toFixed(2)} ms | ${(s / p).toFixed(2)}x | ${((2 * size) / 1024 / 1024 / (s / 1000)).toFixed(0)} MiB/s |`)
}
process.stderr.write('\n')
await store.close()
await rm(base, { recursive: true, force: true })
