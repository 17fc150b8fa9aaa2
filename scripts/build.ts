// `npm run build` (and `npm pack` through prepack): the package as JavaScript plus .d.ts under
// dist/, runnable by plain Node 20 without tsx. tsc emits the JS (rewriting relative `.ts` imports
// to `.js`) and the declarations of the public entry points; the files the code reads at run time
// (web page, the sandbox's C launcher sources) are copied beside it; dist/bin/sandrun runs the CLI.
import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const dist = path.join(root, 'dist')
const step = (message: string): void => void process.stderr.write(`build: ${message}\n`)
const tsc = (project: string): void => void execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: root, stdio: 'inherit' })

rmSync(dist, { recursive: true, force: true })
step('compiling TypeScript to JavaScript (tsconfig.build.json)')
tsc('tsconfig.build.json')
step('writing declarations of sandrun/client, sandrun/verifier, sandrun/sandbox (tsconfig.types.json)')
tsc('tsconfig.types.json')

// Declarations keep the sources' `.ts` specifiers; consumers resolve `.js` to the `.d.ts` beside it.
let rewritten = 0
const walk = (dir: string): void => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(file)
    else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(file, 'utf8')
      const fixed = text.replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2')
      if (fixed !== text) {
        writeFileSync(file, fixed)
        rewritten++
      }
    }
  }
}
walk(dist)
step(`rewrote the import paths of ${rewritten} declaration files`)

for (const [from, to] of [
  ['node/web/assets', 'node/web/assets'],
  ['sandbox/spawner/sandrun-spawn.c', 'sandbox/spawner/sandrun-spawn.c'],
  ['sandbox/spawner/sandrun-exec.c', 'sandbox/spawner/sandrun-exec.c'],
] as const) {
  cpSync(path.join(root, from), path.join(dist, to), { recursive: true })
}
step('copied the web page and the sandbox launcher sources')

mkdirSync(path.join(dist, 'bin'), { recursive: true })
const bin = path.join(dist, 'bin', 'sandrun')
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
step('wrote dist/bin/sandrun')
