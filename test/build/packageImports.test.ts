// The reading of esbuild's emitted imports that the build's vendoring step relies on: every form
// of import names what it takes, and the rewrite points exactly those specifiers elsewhere.
import { describe, expect, it } from 'vitest'
import { packageImports } from '../../scripts/packageImports.ts'

const emitted = `import { a, b as c } from "viem";
import {
  d,
  e as f
} from "@libp2p/crypto/keys";
import g, { h } from "@sinclair/typebox";
import * as ns from "@noble/hashes/sha2.js";
export { i, j as k } from "libp2p";
export * from "@multiformats/multiaddr";
import "@chainsafe/side-effect";
import { x } from "./local.js";
import { readFile } from "node:fs";
async function later() {
  const { mdns, other: renamed } = await import("@libp2p/mdns");
  const whole = await import("@libp2p/kad-dht");
  return [mdns, renamed, whole];
}
const text = "import { nope } from 'viem'";
`

describe('packageImports', () => {
  it('lists each package specifier with the names it takes', () => {
    const { imports } = packageImports(emitted)
    expect(imports).toEqual([
      { specifier: 'viem', names: ['a', 'b'], all: false },
      { specifier: '@libp2p/crypto/keys', names: ['d', 'e'], all: false },
      { specifier: '@sinclair/typebox', names: ['h', 'default'], all: false },
      { specifier: '@noble/hashes/sha2.js', names: [], all: true },
      { specifier: 'libp2p', names: ['i', 'j'], all: false },
      { specifier: '@multiformats/multiaddr', names: [], all: true },
      { specifier: '@chainsafe/side-effect', names: [], all: false },
      { specifier: '@libp2p/mdns', names: ['mdns', 'other'], all: false },
      { specifier: '@libp2p/kad-dht', names: [], all: true },
    ])
  })

  it('rewrites only the specifiers it is given a target for, in statements and dynamic imports', () => {
    const targets: Record<string, string> = { viem: '../vendor/viem.js', '@libp2p/mdns': '../vendor/libp2p__mdns.js' }
    const out = packageImports(emitted).rewrite((specifier) => targets[specifier])
    expect(out).toContain('import { a, b as c } from "../vendor/viem.js";')
    expect(out).toContain('await import("../vendor/libp2p__mdns.js")')
    expect(out).toContain('await import("@libp2p/kad-dht")')
    expect(out).toContain(`const text = "import { nope } from 'viem'";`)
    expect(out).toContain('import { x } from "./local.js";')
    expect(out.split('\n').length).toBe(emitted.split('\n').length)
  })
})
