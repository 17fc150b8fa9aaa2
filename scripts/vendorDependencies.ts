// The vendoring step of scripts/build.ts: the pure-ESM dependencies a node loads (viem, libp2p,
// TypeBox, noble/scure) become tree-shaken bundles under dist/vendor/, one small entry per
// specifier our files import, exporting just the names they use, with the code the entries share
// in chunks (one instance of each package across entries). The emitted files then import those
// entries by relative path. Why: loaded file by file, viem, libp2p and their helpers are ~1,500 ES
// modules, and a node's memory is mostly their loading overhead (a script that imports what the
// worker uses and starts a libp2p node: RSS 110-118 MiB loaded from node_modules, 78-81 MiB bundled).
// Packages that read their own files, or whose objects must be the very ones another package sees
// (fastify and its plugins, zod with the MCP SDK, ws, ...), stay bare imports of node_modules.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { build, type Plugin } from 'esbuild'
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

const requireShim = 'import{createRequire as __sandrunCreateRequire}from"node:module";const require=__sandrunCreateRequire(import.meta.url);\n'

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

export async function vendorDependencies({ root, outDir, files }: { root: string; outDir: string; files: string[] }): Promise<{ specifiers: number; modules: number; rewritten: number }> {
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
  for (const specifier of needs.keys()) {
    const out = entryName(specifier)
    const clash = [...outNames].find(([, taken]) => taken === out)
    if (clash) throw new Error(`vendor entries ${clash[0]} and ${specifier} would both be dist/vendor/${out}.js`)
    outNames.set(specifier, out)
  }

  const entries: Plugin = {
    name: 'sandrun-vendor-entries',
    setup(setup) {
      setup.onResolve({ filter: /^sandrun-vendor:/ }, (args) => ({ path: args.path.slice('sandrun-vendor:'.length), namespace: 'sandrun-vendor' }))
      setup.onLoad({ filter: /.*/, namespace: 'sandrun-vendor' }, (args) => ({
        contents: entrySource(args.path, needs.get(args.path) ?? { names: new Set(), all: true }),
        resolveDir: root,
        loader: 'js',
      }))
    },
  }
  const result = await build({
    absWorkingDir: root,
    entryPoints: [...outNames].map(([specifier, out]) => ({ in: `sandrun-vendor:${specifier}`, out })),
    outdir: vendorDir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The packages our files import from node_modules keep one instance: a vendored package
    // that uses one of them (viem's WebSocket transport and ws) imports the same copy.
    external: [...external].flatMap((name) => [name, `${name}/*`]),
    // Bundling renames clashing top-level names (two packages' `AbortError` become `AbortError`
    // and `AbortError2`); keepNames gives each class and function its own name back, since some
    // errors are recognised by their name. Only whitespace is minified: V8 keeps the source text
    // of every lazily compiled function, whitespace included.
    keepNames: true,
    minifyWhitespace: true,
    legalComments: 'none',
    metafile: true,
    plugins: [entries],
    logLevel: 'warning',
  })

  // A CommonJS module in the bundle (multicast-dns under @libp2p/mdns) requires Node's built-ins;
  // an ES module has no `require`, so the chunk with esbuild's require shim gets one.
  for (const output of Object.keys(result.metafile.outputs)) {
    const file = path.join(root, output)
    const text = readFileSync(file, 'utf8')
    if (text.includes('Dynamic require of "')) writeFileSync(file, `${requireShim}${text}`)
  }

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
  const modules = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('sandrun-vendor:')).length
  return { specifiers: outNames.size, modules, rewritten }
}
