// `npm run build` (and `npm pack` through prepack): the package as JavaScript plus .d.ts under
// dist/, runnable by plain Node 20 without tsx. esbuild turns each source file into one JavaScript
// file (the sources are isolatedModules + verbatimModuleSyntax, so file by file is exact: it is
// what tsx does when it runs them), relative `.ts` imports become `.js`; tsc writes the
// declarations of the public entry points (`--no-types` skips them: what `npm start` needs).
// The files the code reads at run time (web page, the sandbox's C launcher sources) are copied
// beside it; dist/bin/sandrun runs the CLI. Our files stay one per source (several find files
// through import.meta.url), but viem, libp2p, TypeBox and the other pure-ESM dependencies are
// vendored into tree-shaken bundles under dist/vendor/ (scripts/vendorDependencies.ts): loaded file
// by file they are ~1,500 modules, most of a node's memory (the modules of a worker and a gateway:
// RSS 93 -> 79 MiB, heap 28 -> 17 MiB; a dev-network worker ~102 -> ~86 MiB). dist/.sources records what it was built from, so
// `--if-stale` does nothing when the sources have not changed. The build is made beside dist/ and
// swapped in whole at the end: processes running the previous build (tests, `npm start`) never see
// a half-written one, e.g. while `npm pack` builds it again.
import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { buildSourceDirs } from './buildSourceDirs.ts'
import { sourcesDigest } from './sourcesDigest.ts'
import { vendorDependencies } from './vendorDependencies.ts'

const { values: flags } = parseArgs({ options: { 'no-types': { type: 'boolean' }, 'if-stale': { type: 'boolean' } } })
const root = path.resolve(import.meta.dirname, '..')
const dist = path.join(root, 'dist')
const stampFile = path.join(dist, '.sources')
const step = (message: string): void => void process.stderr.write(`build: ${message}\n`)
const tsc = (project: string, outDir: string): void =>
  void execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', project, '--outDir', outDir], { cwd: root, stdio: 'inherit' })

const withTypes = !flags['no-types']
const digest = sourcesDigest(root)
const stamp = `${digest}${withTypes ? ' types' : ''}`
if (flags['if-stale'] && existsSync(stampFile)) {
  const built = readFileSync(stampFile, 'utf8')
  // A build with types serves a build without them too.
  if (built === stamp || built === `${digest} types`) process.exit(0)
}
const started = Date.now()

const staging = path.join(root, `.dist-building-${process.pid}`)
rmSync(staging, { recursive: true, force: true })
const sources: string[] = []
const excluded = new Set(['contracts/build.ts', 'contracts/compile.ts'])
const collect = (dir: string): void => {
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const file = path.posix.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (file !== 'contracts/artifacts') collect(file)
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts') && !excluded.has(file)) sources.push(file)
  }
}
// The same source trees as tsc's build (tsconfig.build.json's include).
for (const dir of buildSourceDirs(root)) collect(dir)
step(`compiling ${sources.length} TypeScript files to JavaScript (esbuild)`)
await build({
  absWorkingDir: root,
  entryPoints: sources,
  outdir: staging,
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  bundle: false,
  logLevel: 'warning',
})
// Relative specifiers name the sources (`./x.ts`); the emitted files are `./x.js`.
const relativeTs = /((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g
let rewritten = 0
const emitted: string[] = []
const walk = (dir: string, suffix: string): void => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(file, suffix)
    else if (entry.name.endsWith(suffix)) {
      emitted.push(file)
      const text = readFileSync(file, 'utf8')
      const fixed = text.replace(relativeTs, '$1.js$2')
      if (fixed !== text) {
        writeFileSync(file, fixed)
        rewritten++
      }
    }
  }
}
walk(staging, '.js')
step(`rewrote the import paths of ${rewritten} JavaScript files`)
const vendored = await vendorDependencies({ root, outDir: staging, files: emitted, reuseFrom: dist })
step(
  `${vendored.reused ? 'kept the previous build of' : 'bundled'} ${vendored.specifiers} vendored dependency entry points (${vendored.modules} modules) in dist/vendor/, imported by ${vendored.rewritten} files`,
)

if (withTypes) {
  step('writing declarations of sandrun/client, sandrun/verifier, sandrun/sandbox (tsconfig.types.json)')
  tsc('tsconfig.types.json', staging)
  // Declarations keep the sources' `.ts` specifiers; consumers resolve `.js` to the `.d.ts` beside it.
  rewritten = 0
  walk(staging, '.d.ts')
  step(`rewrote the import paths of ${rewritten} declaration files`)
}

for (const [from, to] of [
  ['node/web/assets', 'node/web/assets'],
  ['sandbox/spawner/sandrun-spawn.c', 'sandbox/spawner/sandrun-spawn.c'],
  ['sandbox/spawner/sandrun-exec.c', 'sandbox/spawner/sandrun-exec.c'],
] as const) {
  cpSync(path.join(root, from), path.join(staging, to), { recursive: true })
}
step('copied the web page and the sandbox launcher sources')

mkdirSync(path.join(staging, 'bin'), { recursive: true })
const bin = path.join(staging, 'bin', 'sandrun')
writeFileSync(
  bin,
  `#!/usr/bin/env node
// The Sandrun CLI, built (npm run build): plain Node, no TypeScript loader.
await import('../node/promiseWithResolvers.js')
const { main } = await import('../node/cli/main.js')
process.exitCode = await main(process.argv.slice(2))
`,
)
chmodSync(bin, 0o755)
writeFileSync(path.join(staging, '.sources'), stamp)
// The swap: two renames, so dist/ is missing only between them, never half built.
const previous = path.join(root, `.dist-previous-${process.pid}`)
if (existsSync(dist)) renameSync(dist, previous)
renameSync(staging, dist)
rmSync(previous, { recursive: true, force: true })
step(`wrote dist/bin/sandrun (${((Date.now() - started) / 1000).toFixed(1)} s)`)
