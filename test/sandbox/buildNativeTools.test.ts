// The native tools (sandrun-spawn, sandrun-exec) are compiled on first use. Two sandboxes that
// start at once on a fresh host (the test VM: a fresh overlay every boot) build them at the same
// time; both must end up with the native launcher, not one of them with the slower fallback.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { findExecutable } from '../../sandbox/findExecutable.ts'
import { buildNativeTools } from '../../sandbox/spawner/createNativeSpawner.ts'
import { requireHost } from '../host/requireHost.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'sandrun-tools-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('builds the native tools for two sandboxes starting at once in a fresh directory', async (context) => {
  const compiler = findExecutable(['/usr/bin/cc', '/usr/bin/gcc'])
  requireHost(context, compiler ? { supported: true } : { supported: false, reason: 'no C compiler (npm run setup installs gcc)' })
  const builds = await Promise.all([buildNativeTools(dir), buildNativeTools(dir), buildNativeTools(dir)])
  for (const build of builds) {
    expect(build.tools, 'reason' in build ? build.reason : '').not.toBeNull()
    for (const file of Object.values(build.tools!)) expect(statSync(file).mode & 0o111).not.toBe(0)
  }
})
