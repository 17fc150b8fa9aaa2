// The vendoring step of scripts/build.ts: the pure-ESM dependencies a node loads (viem, libp2p,
// TypeBox, noble/scure) become tree-shaken bundles under dist/vendor/, one small entry per
// specifier our files import, exporting just the names they use, with the code the entries share
// in chunks (one instance of each package across entries). The emitted files then import those
// entries by relative path. Why: loaded file by file, viem, libp2p and their helpers are ~1,500 ES
// modules, and a node's memory is mostly their loading overhead (a script that imports what the
// worker uses and starts a libp2p node: RSS 110-118 MiB loaded from node_modules, 78-81 MiB bundled).
// Packages that read their own files, or whose objects must be the very ones another package sees
// (fastify and its plugins, zod with the MCP SDK, ws, ...), stay bare imports of node_modules.
import { createHash } from 'node:crypto'
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { bundleVendorEntries } from './bundleVendorEntries.ts'
import { type PackageImport, packageImports } from './packageImports.ts'

const vendoredScopes = ['@libp2p/', '@chainsafe/', '@multiformats/', '@noble/', '@scure/']
const vendoredPackages = ['viem', 'libp2p', '@sinclair/typebox']

const packageName = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/')
const isVendored = (specifier: string): boolean =>
  vendoredPackages.includes(packageName(specifier)) || vendoredScopes.some((scope) => specifier.startsWith(scope))
// `@libp2p/crypto/keys` -> `libp2p__crypto__keys`, `@noble/hashes/sha2.js` -> `noble__hashes__sha2`.
const entryName = (specifier: string): string =>
  specifier
    .replace(/^@/, '')
    .replace(/\.js$/, '')
    .replace(/[^\w.-]+/g, '__')

interface Needs {
  names: Set<string>
  all: boolean
}

// A namespace or dynamic import without named parts takes `export *`: every named export, not a
// default (none of the vendored packages' entry points has one that is used that way).
const entrySource = (specifier: string, needs: Needs): string => {
  const from = JSON.stringify(specifier)
  const lines: string[] = []
  if (needs.all) lines.push(`export * from ${from};`)
  const names = [...needs.names].filter((name) => !needs.all || name === 'default')
  if (names.length > 0) lines.push(`export { ${names.map((name) => JSON.stringify(name)).join(', ')} } from ${from};`)
  // A bare `import "x"` anywhere needs only the module evaluated.
  return lines.length > 0 ? lines.join('\n') : `import ${from};`
}

// Another build may be swapping dist/ out from under the copy: then the bundles are made anew.
const copied = (from: string, to: string): boolean => {
  try {
    cpSync(from, to, { recursive: true })
    return true
  } catch {
    rmSync(to, { recursive: true, force: true })
    return false
  }
}

// `reuseFrom`: the previous build (dist/), whose bundles are copied when nothing they are made of changed.
export async function vendorDependencies({
  root,
  outDir,
  files,
  reuseFrom,
}: {
  root: string
  outDir: string
  files: string[]
  reuseFrom: string
}): Promise<{ specifiers: number; modules: number; rewritten: number; reused: boolean }> {
  const vendorDir = path.join(outDir, 'vendor')
  const perFile = files.map((file) => {
    const code = readFileSync(file, 'utf8')
    return { file, code, ...packageImports(code) }
  })
  const needs = new Map<string, Needs>()
  const external = new Set<string>()
  const add = ({ specifier, names, all }: PackageImport): void => {
    if (!isVendored(specifier)) {
      external.add(packageName(specifier))
      return
    }
    const entry = needs.get(specifier) ?? { names: new Set(), all: false }
    for (const name of names) entry.names.add(name)
    entry.all ||= all
    needs.set(specifier, entry)
  }
  for (const { imports } of perFile) imports.forEach(add)
  const outNames = new Map<string, string>()
  const entries: Array<{ specifier: string; out: string; contents: string }> = []
  for (const [specifier, entryNeeds] of needs) {
    const out = entryName(specifier)
    const clash = [...outNames].find(([, taken]) => taken === out)
    if (clash) throw new Error(`vendor entries ${clash[0]} and ${specifier} would both be dist/vendor/${out}.js`)
    outNames.set(specifier, out)
    entries.push({ specifier, out, contents: entrySource(specifier, entryNeeds) })
  }
  const externals = [...external].sort()
  // Most source changes import nothing new: the previous build's bundles are reused when the
  // entries, the external packages, the lock file and the bundling step are all the same.
  const key = createHash('sha256')
    .update(JSON.stringify({ entries, externals }))
    .update(readFileSync(path.join(root, 'package-lock.json')))
    .update(readFileSync(path.join(import.meta.dirname, 'bundleVendorEntries.ts')))
    .digest('hex')
  const keyFile = (dir: string): string => path.join(dir, '.built')
  const previous = path.join(reuseFrom, 'vendor')
  const [previousKey, previousModules] = existsSync(keyFile(previous)) ? readFileSync(keyFile(previous), 'utf8').split(' ') : []
  const reused = previousKey === key && copied(previous, vendorDir)
  const modules = reused ? Number(previousModules) : await bundleVendorEntries({ root, vendorDir, entries, external: externals })
  if (!reused) writeFileSync(keyFile(vendorDir), `${key} ${modules}`)

  let rewritten = 0
  for (const { file, code, rewrite } of perFile) {
    const text = rewrite((specifier) => {
      const out = outNames.get(specifier)
      if (out === undefined) return undefined
      const relative = path.relative(path.dirname(file), path.join(vendorDir, `${out}.js`)).split(path.sep).join('/')
      return relative.startsWith('.') ? relative : `./${relative}`
    })
    if (text !== code) {
      writeFileSync(file, text)
      rewritten++
    }
  }
  return { specifiers: outNames.size, modules, rewritten, reused }
}
