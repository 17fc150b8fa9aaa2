// The build's vendored dependencies (scripts/vendorDependencies.ts), as dist/ has them (vitest's
// global setup builds it): our emitted files import viem, libp2p & co. only through dist/vendor/,
// and no vendored module needs Promise.withResolvers while it loads, since on Node 20 that exists
// only once an entry point has imported node/promiseWithResolvers.js.
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const exec = promisify(execFile)
const dist = path.resolve(import.meta.dirname, '../../dist')
const vendored = /(?:\bfrom\s*|\bimport\s*\(?\s*)"((?:viem|libp2p|@sinclair\/typebox|@(?:libp2p|chainsafe|multiformats|noble|scure)\/)[^"]*)"/g

const jsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) return file === path.join(dist, 'vendor') ? [] : jsFiles(file)
    return entry.name.endsWith('.js') ? [file] : []
  })

describe('vendored dependencies in dist/', () => {
  it('our files import the vendored packages from dist/vendor/, none from node_modules', () => {
    const files = jsFiles(dist)
    const viaVendor = files.filter((file) => readFileSync(file, 'utf8').includes('/vendor/'))
    const bare = files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(vendored)].map((match) => `${path.relative(dist, file)}: ${match[1]}`))
    expect(bare).toEqual([])
    expect(viaVendor.map((file) => path.relative(dist, file))).toContain('node/p2p/createHost.js')
  })

  it('every vendor entry loads in a Node without Promise.withResolvers', async () => {
    const entries = readdirSync(path.join(dist, 'vendor')).filter((name) => name.endsWith('.js'))
    expect(entries).toContain('libp2p.js')
    const script = `delete Promise.withResolvers
const loaded = []
for (const entry of ${JSON.stringify(entries)}) loaded.push(Object.keys(await import('./vendor/' + entry)).length > 0 ? entry : 'empty ' + entry)
console.log(JSON.stringify({ loaded, withResolvers: typeof Promise.withResolvers }))`
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: dist })
    expect(JSON.parse(stdout)).toEqual({ loaded: entries, withResolvers: 'undefined' })
  })
})
