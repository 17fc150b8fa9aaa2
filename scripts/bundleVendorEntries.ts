// The bundling half of scripts/vendorDependencies.ts: one esbuild run over every vendor entry, so
// the code entries share lands in chunks once (one instance of @libp2p/interface for libp2p and
// for us). Returns how many modules went into the bundles.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { build, type Plugin } from 'esbuild'

const requireShim = 'import{createRequire as __sandrunCreateRequire}from"node:module";const require=__sandrunCreateRequire(import.meta.url);\n'

export async function bundleVendorEntries({
  root,
  vendorDir,
  entries,
  external,
}: {
  root: string
  vendorDir: string
  entries: Array<{ specifier: string; out: string; contents: string }>
  external: string[]
}): Promise<number> {
  const contents = new Map(entries.map((entry) => [entry.specifier, entry.contents]))
  const virtualEntries: Plugin = {
    name: 'sandrun-vendor-entries',
    setup(setup) {
      setup.onResolve({ filter: /^sandrun-vendor:/ }, (args) => ({ path: args.path.slice('sandrun-vendor:'.length), namespace: 'sandrun-vendor' }))
      setup.onLoad({ filter: /.*/, namespace: 'sandrun-vendor' }, (args) => ({ contents: contents.get(args.path) ?? '', resolveDir: root, loader: 'js' }))
    },
  }
  const result = await build({
    absWorkingDir: root,
    entryPoints: entries.map(({ specifier, out }) => ({ in: `sandrun-vendor:${specifier}`, out })),
    outdir: vendorDir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The packages our files import from node_modules keep one instance: a vendored package
    // that uses one of them (viem's WebSocket transport and ws) imports the same copy.
    external: external.flatMap((name) => [name, `${name}/*`]),
    // Bundling renames clashing top-level names (two packages' `AbortError` become `AbortError`
    // and `AbortError2`); keepNames gives each class and function its own name back, since some
    // errors are recognised by their name. Only whitespace is minified: V8 keeps the source text
    // of every lazily compiled function, whitespace included (1.8 MiB of a worker's heap).
    keepNames: true,
    minifyWhitespace: true,
    legalComments: 'none',
    metafile: true,
    plugins: [virtualEntries],
    logLevel: 'warning',
  })
  // A CommonJS module in the bundle (multicast-dns under @libp2p/mdns) requires Node's built-ins;
  // an ES module has no `require`, so the chunk with esbuild's require shim gets one.
  for (const output of Object.keys(result.metafile.outputs)) {
    const file = path.join(root, output)
    const text = readFileSync(file, 'utf8')
    if (text.includes('Dynamic require of "')) writeFileSync(file, `${requireShim}${text}`)
  }
  return Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('sandrun-vendor:')).length
}
