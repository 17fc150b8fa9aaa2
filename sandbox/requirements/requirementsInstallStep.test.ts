import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkRequirementsFile } from './checkRequirementsFile.ts'
import { requirementsConfig } from './requirementsConfig.ts'
import { requirementsInstallStep } from './requirementsInstallStep.ts'

let dir: string
let wheelhouse: string
let npmCache: string

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sandrun-requirements-config-'))
  wheelhouse = path.join(dir, 'wheels')
  npmCache = path.join(dir, 'npm')
  mkdirSync(wheelhouse)
  mkdirSync(path.join(npmCache, '_cacache', 'content-v2'), { recursive: true })
  mkdirSync(path.join(npmCache, '_cacache', 'index-v5'), { recursive: true })
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('requirementsConfig', () => {
  it('refuses URL indexes as not supported yet, naming the local-directory alternative', () => {
    expect(() => requirementsConfig({ pipIndex: 'https://pypi.org/simple' })).toThrow(/package index URLs are not supported yet/)
    expect(() => requirementsConfig({ npmIndex: 'https://registry.npmjs.org/' })).toThrow(/local directory/)
  })

  it('refuses relative paths, missing directories and directories that are no npm cache', () => {
    expect(() => requirementsConfig({ pipIndex: 'wheels' })).toThrow(/absolute directory path/)
    expect(() => requirementsConfig({ pipIndex: path.join(dir, 'nope') })).toThrow(/is not a directory/)
    expect(() => requirementsConfig({ npmIndex: wheelhouse })).toThrow(/is not an npm cache/)
  })

  it('accepts local directories and leaves unconfigured kinds off', () => {
    expect(requirementsConfig({ pipIndex: wheelhouse })).toMatchObject({ pipIndex: wheelhouse, npmIndex: null })
    expect(requirementsConfig()).toMatchObject({ pipIndex: null, npmIndex: null, npmRegistry: 'https://registry.npmjs.org/' })
  })
})

describe('checkRequirementsFile', () => {
  const config = () => requirementsConfig({ pipIndex: wheelhouse })

  it('lists what pip will install', () => {
    expect(checkRequirementsFile({ requirements: 'requirements.txt', content: 'numpy==1.26.4\nrich[jupyter]>=13\n', config: config() })).toEqual({
      kind: 'pip',
      packages: ['numpy==1.26.4', 'rich[jupyter]>=13'],
    })
  })

  it('is a 400-class error when the host has no index of that kind or the file is missing', () => {
    expect(() => checkRequirementsFile({ requirements: 'package.json', content: '{}', config: config() })).toThrow(/This host has no npm package index/)
    expect(() => checkRequirementsFile({ requirements: 'requirements.txt', content: null, config: config() })).toThrow(/not a regular file in the bundle/)
    expect(() => checkRequirementsFile({ requirements: 'setup.py', content: '', config: config() })).toThrow(/requirements.txt \(pip\) or a package.json \(npm\)/)
  })
})

describe('requirementsInstallStep', () => {
  it('installs pip requirements offline into /work/.deps from the read-only wheelhouse', () => {
    const step = requirementsInstallStep({ requirements: 'src/requirements.txt', config: requirementsConfig({ pipIndex: wheelhouse }) })
    expect(step.kind).toBe('pip')
    expect(step.command.slice(0, 4)).toEqual(['/usr/bin/python3', '-m', 'pip', 'install'])
    expect(step.command).toContain('--no-index')
    expect(step.command.slice(-2)).toEqual(['-r', '/work/src/requirements.txt'])
    expect(step.bwrapArgs).toEqual(['--ro-bind', wheelhouse, '/index/pip'])
    expect(step.env).toMatchObject({ PIP_NO_INDEX: '1', PIP_FIND_LINKS: '/index/pip', PIP_CONFIG_FILE: '/dev/null' })
    expect(step.jobEnv).toEqual({ PYTHONPATH: '/work/.deps' })
  })

  it('installs npm dependencies offline next to the package.json, without install scripts', () => {
    const step = requirementsInstallStep({ requirements: 'app/package.json', config: requirementsConfig({ npmIndex: npmCache }) })
    expect(step.kind).toBe('npm')
    expect(step.command).toEqual(expect.arrayContaining(['--offline', '--ignore-scripts', '--omit=dev']))
    expect(step.command.slice(-2)).toEqual(['--prefix', '/work/app'])
    expect(step.bwrapArgs).toEqual([
      '--ro-bind', path.join(npmCache, '_cacache', 'content-v2'), '/tmp/npm-cache/_cacache/content-v2',
      '--ro-bind', path.join(npmCache, '_cacache', 'index-v5'), '/index/npm-index',
    ])
    expect(step.jobEnv).toEqual({})
  })
})
