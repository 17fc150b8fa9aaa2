import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SandboxError } from '../errors.ts'
import type { InterpreterInfo } from '../sandbox.ts'
import { detectEnvironments } from './detectEnvironments.ts'
import { EnvironmentError } from './environmentError.ts'
import { environmentsReport } from './environmentsReport.ts'
import { installEnvironment } from './installEnvironment.ts'
import { queryPackageVersions } from './queryPackageVersions.ts'
import { requireEnvironment } from './requireEnvironment.ts'
import { environmentTemplates, type EnvironmentTemplate } from './templates.ts'

const template = (name: string, packages: string[]): EnvironmentTemplate => ({ name, version: 1, description: name, packages, imports: [], etcEntries: [], env: {} })
const templates = [template('default', []), template('text', ['python3-a', 'python3-b']), template('maths', ['python3-c'])]
const fakeVersions = (installed: Record<string, string>) => async () => new Map(Object.entries(installed))
const interpreters: InterpreterInfo[] = [
  { name: 'python3', path: '/usr/bin/python3', available: true, version: 'Python 3.11.2' },
  { name: 'node', path: '/usr/bin/node', available: true, version: 'v20.20.0' },
  { name: 'ruby', path: '/usr/bin/ruby', available: false, version: null },
]

let dir: string
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sandrun-env-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('environment templates', () => {
  it('are the six Sandrun templates, each with packages to import when it has any', () => {
    expect(environmentTemplates.map((t) => t.name)).toEqual(['default', 'ml-basic', 'vision', 'nlp', 'data-science', 'scientific'])
    for (const t of environmentTemplates) expect(t.imports.length > 0).toBe(t.packages.length > 0)
  })
})

describe('detectEnvironments', () => {
  it('marks a template installed only when every package is, with versions and what is missing', async () => {
    const detections = await detectEnvironments({ templates, queryVersions: fakeVersions({ 'python3-a': '1.0-1', 'python3-c': '2:3.4-5' }) })
    expect(detections.map((d) => [d.template.name, d.installed, d.versions, d.missing])).toEqual([
      ['default', true, {}, []],
      ['text', false, { 'python3-a': '1.0-1' }, ['python3-b']],
      ['maths', true, { 'python3-c': '2:3.4-5' }, []],
    ])
  })

  it('asks dpkg on this host: installed packages have versions, unknown ones are absent', async () => {
    const versions = await queryPackageVersions({ packages: ['bash', 'sandrun-no-such-package'] })
    expect(versions.get('bash')).toMatch(/^\d/)
    expect(versions.has('sandrun-no-such-package')).toBe(false)
  })
})

describe('requireEnvironment', () => {
  it('returns the installed template and refuses unknown or missing ones with a 400-class error', async () => {
    const detections = await detectEnvironments({ templates, queryVersions: fakeVersions({ 'python3-c': '1' }) })
    expect(requireEnvironment({ name: 'maths', detections }).name).toBe('maths')
    const refusal = (name: string) => {
      try {
        requireEnvironment({ name, detections })
      } catch (error) {
        return error as SandboxError
      }
      throw new Error('accepted')
    }
    expect(refusal('text')).toMatchObject({ code: 'ENVIRONMENT_UNKNOWN', isUserError: true, shortMessage: 'The environment "text" is not installed on this host.' })
    expect(refusal('text').details).toContain('Installed here: default, maths')
    expect(refusal('gpu-magic').shortMessage).toBe('There is no environment template named "gpu-magic".')
  })
})

describe('environmentsReport', () => {
  // Stands in for the verifier's environmentDigest: shows exactly what the digest covers.
  const digest = (input: { interpreterVersion: string; packages: string[] }) => `${input.interpreterVersion}|${input.packages.join(',')}`

  it('gives installed templates a digest per interpreter over the template and its package versions', async () => {
    const detections = await detectEnvironments({ templates, queryVersions: fakeVersions({ 'python3-a': '1.0', 'python3-b': '2.0' }) })
    const report = environmentsReport({ detections, interpreters, digest })
    expect(report.templates.text).toEqual({
      version: 1,
      description: 'text',
      packages: ['python3-a', 'python3-b'],
      imports: [],
      installed: true,
      versions: { 'python3-a': '1.0', 'python3-b': '2.0' },
      missing: [],
      digest: 'python3 Python 3.11.2|template:text@1,python3-a=1.0,python3-b=2.0',
      digests: {
        python3: 'python3 Python 3.11.2|template:text@1,python3-a=1.0,python3-b=2.0',
        node: 'node v20.20.0|template:text@1,python3-a=1.0,python3-b=2.0',
      },
    })
    expect(report.templates.maths).toMatchObject({ installed: false, missing: ['python3-c'], digest: null, digests: {} })
    expect(report.interpreters).toEqual([
      { name: 'python3', version: 'Python 3.11.2' },
      { name: 'node', version: 'v20.20.0' },
    ])
    expect(report.stats).toEqual({ total_templates: 3, installed_templates: 2, available_interpreters: 2 })
  })

  it('changes the digest when a package version changes', async () => {
    const at = async (version: string) =>
      environmentsReport({ detections: await detectEnvironments({ templates, queryVersions: fakeVersions({ 'python3-c': version }) }), interpreters, digest }).templates.maths!.digest
    expect(await at('1.0')).not.toBe(await at('1.1'))
  })
})

describe('installEnvironment', () => {
  const missing = [template('missing', ['sandrun-no-such-package'])]

  function fakeAptGet(name: string, exitCode: number): string {
    const file = path.join(dir, name)
    writeFileSync(file, `#!/bin/sh\necho "$@" >> ${file}.calls\necho "Reading package lists..."\ncase "$*" in *update*) exit 0 ;; esac\necho "E: Unable to locate package sandrun-no-such-package" >&2\nexit ${exitCode}\n`)
    chmodSync(file, 0o755)
    return file
  }

  it('refuses unknown templates and non-root callers with what to do', async () => {
    await expect(installEnvironment({ name: 'nope' })).rejects.toMatchObject({ code: 'TEMPLATE_UNKNOWN' })
    const error = await installEnvironment({ name: 'missing', templates: missing, isRoot: false }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EnvironmentError)
    expect(error).toMatchObject({ code: 'NOT_ROOT' })
    expect((error as EnvironmentError).shortMessage).toContain('sandrun-no-such-package')
  })

  it('streams apt-get lines, refreshes the package lists once, and reports apt-get\'s error', async () => {
    const aptGetPath = fakeAptGet('apt-fails', 100)
    const progress: string[] = []
    const error = await installEnvironment({ name: 'missing', templates: missing, isRoot: true, aptGetPath, onProgress: (line) => progress.push(line) }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'INSTALL_FAILED' })
    expect((error as EnvironmentError).details).toContain('Unable to locate package sandrun-no-such-package')
    expect(progress).toContain('Reading package lists...')
    expect(progress).toContain('apt-get update')
    const calls = readFileSync(`${aptGetPath}.calls`, 'utf8').trim().split('\n')
    expect(calls.map((c) => c.split(' ').find((w) => w === 'install' || w === 'update'))).toEqual(['install', 'update', 'install'])
    expect(calls[0]).toContain('install -y --no-install-recommends sandrun-no-such-package')
  })

  it('installs nothing for a template whose packages are present and still runs the smoke check', async () => {
    const aptGetPath = fakeAptGet('apt-unused', 0)
    const progress: string[] = []
    const detection = await installEnvironment({ name: 'default', aptGetPath, onProgress: (line) => progress.push(line) })
    expect(detection.installed).toBe(true)
    expect(progress).toEqual(['checking imports: (none)'])
  })

  it('fails the smoke check when a promised module does not import', async () => {
    const broken = [{ ...template('broken', []), imports: ['sandrun_no_such_module'] }]
    await expect(installEnvironment({ name: 'broken', templates: broken })).rejects.toMatchObject({
      code: 'SMOKE_CHECK_FAILED',
      shortMessage: expect.stringContaining("No module named 'sandrun_no_such_module'"),
    })
  })
})
