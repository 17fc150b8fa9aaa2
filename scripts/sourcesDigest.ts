// A digest of everything a build of dist/ is made from: the source trees (tests aside), the lock
// file and the build script. Reading ~2 MB takes tens of milliseconds, so `npm start` can ask on
// every start whether dist/ is still the sources' build.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { buildSourceDirs } from './buildSourceDirs.ts'

export function sourcesDigest(root: string): string {
  const hash = createHash('sha256')
  const add = (file: string): void => {
    hash.update(`${file}\0`)
    hash.update(readFileSync(path.join(root, file)))
  }
  const walk = (dir: string): void => {
    const entries = readdirSync(path.join(root, dir), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))
    for (const entry of entries) {
      const file = path.posix.join(dir, entry.name)
      if (entry.isDirectory()) walk(file)
      else if (entry.isFile() && !entry.name.endsWith('.test.ts')) add(file)
    }
  }
  for (const dir of buildSourceDirs(root)) walk(dir)
  for (const file of ['package-lock.json', 'scripts/build.ts', 'scripts/sourcesDigest.ts', 'scripts/buildSourceDirs.ts', 'scripts/vendorDependencies.ts', 'scripts/packageImports.ts', 'scripts/bundleVendorEntries.ts', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.types.json']) add(file)
  return hash.digest('hex')
}

