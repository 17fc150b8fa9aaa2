// The requirements install step end to end: a wheelhouse and an npm cache built by the test, the
// exact argv, env and binds requirementsInstallStep produces, run in a bwrap sandbox set up like
// the job runner's, then the job itself importing what was installed into the same /work.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { requirementsConfig } from '../../sandbox/requirements/requirementsConfig.ts'
import { requirementsInstallStep } from '../../sandbox/requirements/requirementsInstallStep.ts'
import { buildWheel } from './buildWheel.ts'
import { createSandboxed, type Sandboxed } from './runSandboxed.ts'

let root: string
let wheelhouse: string
let npmCache: string
let npmRegistry: string

/** Serves one package's packument and tarball, like a registry would, to fill an npm cache once. */
async function fillNpmCache(cache: string): Promise<string> {
  const tarball = Buffer.from(
    await packFiles({
      'package/package.json': JSON.stringify({ name: 'tiny-greeting', version: '1.2.0', main: 'index.js' }),
      'package/index.js': 'module.exports = "hello from tiny-greeting"\n',
    }),
  )
  const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`
  const server = http.createServer((request, response) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    if (request.url === '/tiny-greeting') {
      response.setHeader('content-type', 'application/json')
      response.end(
        JSON.stringify({
          name: 'tiny-greeting',
          'dist-tags': { latest: '1.2.0' },
          versions: { '1.2.0': { name: 'tiny-greeting', version: '1.2.0', main: 'index.js', dist: { tarball: `${base}/tiny-greeting/-/tiny-greeting-1.2.0.tgz`, integrity } } },
        }),
      )
    } else if (request.url === '/tiny-greeting/-/tiny-greeting-1.2.0.tgz') {
      response.end(tarball)
    } else {
      response.statusCode = 404
      response.end('{}')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  try {
    await promisify(execFile)('/usr/bin/node', ['/usr/lib/node_modules/npm/bin/npm-cli.js', 'cache', 'add', 'tiny-greeting@1.2.0', '--registry', registry, '--cache', cache, '--no-update-notifier'])
  } finally {
    server.close()
  }
  return registry
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'sandrun-requirements-'))
  chmodSync(root, 0o755)
  wheelhouse = path.join(root, 'wheelhouse')
  mkdirSync(wheelhouse, { mode: 0o755 })
  buildWheel({ dir: wheelhouse, name: 'tinydep', version: '2.0', source: 'ANSWER = 42\n' })
  buildWheel({ dir: wheelhouse, name: 'tinyapp', version: '1.0', source: 'from tinydep import ANSWER\ndef answer():\n    return ANSWER\n', requires: ['tinydep>=2'] })
  npmCache = path.join(root, 'npm-cache')
  npmRegistry = await fillNpmCache(npmCache)
  // The sandbox user only needs to read the indexes.
  await promisify(execFile)('chmod', ['-R', 'a+rX', root])
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('pip requirements from a local wheelhouse', () => {
  let sandboxed: Sandboxed
  beforeAll(() => {
    sandboxed = createSandboxed()
  })
  afterAll(() => sandboxed.close())

  it('installs the pinned package and its dependency into /work, and the job imports them', async () => {
    writeFileSync(path.join(sandboxed.workDir, 'requirements.txt'), '# the app and, through it, tinydep\ntinyapp==1.0\n')
    const step = requirementsInstallStep({ requirements: 'requirements.txt', config: requirementsConfig({ pipIndex: wheelhouse }) })
    const install = await sandboxed.run({ command: step.command, env: step.env, extraArgs: step.bwrapArgs })
    expect(install.stderr).not.toMatch(/error/i)
    expect(install.code).toBe(0)
    expect(install.stdout).toContain('Successfully installed tinyapp-1.0 tinydep-2.0')

    const job = await sandboxed.run({ command: ['/usr/bin/python3', '-c', 'import tinyapp; print(tinyapp.answer())'], env: step.jobEnv })
    expect(job.stderr).toBe('')
    expect(job.stdout).toBe('42\n')
  })

  it('fails the step with pip\'s reason when the wheelhouse lacks a requirement', async () => {
    writeFileSync(path.join(sandboxed.workDir, 'requirements.txt'), 'tinyapp==9.9\n')
    const step = requirementsInstallStep({ requirements: 'requirements.txt', config: requirementsConfig({ pipIndex: wheelhouse }) })
    const install = await sandboxed.run({ command: step.command, env: step.env, extraArgs: step.bwrapArgs })
    expect(install.code).not.toBe(0)
    expect(install.stderr).toContain('No matching distribution found for tinyapp==9.9')
  })

  it('ignores a pip.conf shipped in the bundle that points at another index', async () => {
    mkdirSync(path.join(sandboxed.workDir, '.config', 'pip'), { recursive: true })
    writeFileSync(path.join(sandboxed.workDir, '.config', 'pip', 'pip.conf'), '[install]\nno-index = false\nindex-url = http://10.0.0.1/simple\nfind-links = /nowhere\n')
    writeFileSync(path.join(sandboxed.workDir, 'requirements.txt'), 'tinydep==2.0\n')
    const step = requirementsInstallStep({ requirements: 'requirements.txt', config: requirementsConfig({ pipIndex: wheelhouse }) })
    const install = await sandboxed.run({ command: step.command, env: step.env, extraArgs: step.bwrapArgs })
    expect(install.code).toBe(0)
    expect(install.stdout).not.toContain('10.0.0.1')
  })

  it('cannot write to the wheelhouse from inside the step', async () => {
    const step = requirementsInstallStep({ requirements: 'requirements.txt', config: requirementsConfig({ pipIndex: wheelhouse }) })
    const attempt = await sandboxed.run({ command: ['/usr/bin/sh', '-c', 'touch /index/pip/evil.whl'], extraArgs: step.bwrapArgs })
    expect(attempt.code).not.toBe(0)
    expect(attempt.stderr).toMatch(/Read-only file system|Permission denied/)
  })
})

describe('npm requirements from a local npm cache', () => {
  let sandboxed: Sandboxed
  beforeAll(() => {
    sandboxed = createSandboxed()
  })
  afterAll(() => sandboxed.close())

  it('installs the dependency offline from the read-only cache, and the job requires it', async () => {
    mkdirSync(path.join(sandboxed.workDir, 'app'))
    writeFileSync(path.join(sandboxed.workDir, 'app', 'package.json'), JSON.stringify({ name: 'job', version: '1.0.0', dependencies: { 'tiny-greeting': '^1.2.0' } }))
    writeFileSync(path.join(sandboxed.workDir, 'app', 'main.js'), 'console.log(require("tiny-greeting"))\n')
    const step = requirementsInstallStep({ requirements: 'app/package.json', config: requirementsConfig({ npmIndex: npmCache, npmRegistry }) })
    const install = await sandboxed.run({ command: step.command, env: step.env, extraArgs: step.bwrapArgs })
    expect(install.stderr).not.toMatch(/ERR!/)
    expect(install.code).toBe(0)

    const job = await sandboxed.run({ command: ['/usr/bin/node', '/work/app/main.js'], env: step.jobEnv })
    expect(job.stdout).toBe('hello from tiny-greeting\n')
  })

  it('fails the step when the cache lacks a dependency', async () => {
    writeFileSync(path.join(sandboxed.workDir, 'package.json'), JSON.stringify({ name: 'job', version: '1.0.0', dependencies: { 'not-in-cache': '^1.0.0' } }))
    const step = requirementsInstallStep({ requirements: 'package.json', config: requirementsConfig({ npmIndex: npmCache, npmRegistry }) })
    const install = await sandboxed.run({ command: step.command, env: step.env, extraArgs: step.bwrapArgs })
    expect(install.code).not.toBe(0)
    expect(install.stderr).toMatch(/ENOTCACHED|not-in-cache/)
  })
})
