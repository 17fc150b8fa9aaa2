import { describe, expect, it } from 'vitest'
import { SandboxError } from '../errors.ts'
import { parsePipRequirements } from './parsePipRequirements.ts'

function parse(content: string) {
  return parsePipRequirements({ content, fileName: 'requirements.txt' })
}

function refusal(content: string): SandboxError {
  try {
    parse(content)
  } catch (error) {
    if (error instanceof SandboxError) return error
    throw error
  }
  throw new Error(`accepted: ${content}`)
}

describe('parsePipRequirements', () => {
  it('reads names, pins, extras, markers, hashes, comments and continuations', () => {
    const result = parse(
      [
        '# data stack',
        'numpy==1.26.4',
        'requests[socks, security] >= 2.31 , <3  # http',
        'tomli==2.0.1 ; python_version < "3.11"',
        'six==1.16.0 \\',
        '    --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254',
        '',
        'plain',
      ].join('\n'),
    )
    expect(result).toEqual([
      { name: 'numpy', extras: [], specifier: '==1.26.4', marker: null, line: 2 },
      { name: 'requests', extras: ['socks', 'security'], specifier: '>=2.31,<3', marker: null, line: 3 },
      { name: 'tomli', extras: [], specifier: '==2.0.1', marker: 'python_version < "3.11"', line: 4 },
      { name: 'six', extras: [], specifier: '==1.16.0', marker: null, line: 5 },
      { name: 'plain', extras: [], specifier: '', marker: null, line: 8 },
    ])
  })

  it.each([
    ['-e git+https://example.org/x.git#egg=x', 'editable'],
    ['--editable ./src', 'editable'],
    ['-r other.txt', 'nested requirement files'],
    ['--constraint c.txt', 'nested requirement files'],
    ['--index-url https://pypi.example/simple', "this host's package index"],
    ['--extra-index-url=https://evil.example/simple', "this host's package index"],
    ['-f /tmp/wheels', "this host's package index"],
    ['--trusted-host evil.example', "this host's package index"],
    ['--pre', 'options other than --hash'],
  ])('refuses the option line %s', (line, reason) => {
    const error = refusal(`numpy==1.0\n${line}\n`)
    expect(error.code).toBe('BUNDLE_INVALID')
    expect(error.shortMessage).toContain('requirements.txt line 2')
    expect(error.shortMessage).toContain(reason)
  })

  it.each([
    'pkg @ https://example.org/pkg-1.0.tar.gz',
    'https://example.org/pkg-1.0-py3-none-any.whl',
    'git+https://example.org/pkg.git',
    './vendor/pkg',
    '/abs/pkg-1.0-py3-none-any.whl',
    'pkg-1.0.tar.gz',
  ])('refuses a URL or path: %s', (line) => {
    const error = refusal(line)
    expect(error.code).toBe('BUNDLE_INVALID')
    expect(error.shortMessage).toContain('URL or a path')
  })

  it('refuses per-requirement options other than --hash', () => {
    expect(refusal('numpy==1.0 --config-settings=x=y').shortMessage).toContain('not allowed after a requirement')
  })

  it('refuses lines it cannot read, with the line number', () => {
    const error = refusal('numpy==1.0\nnum py\n')
    expect(error.shortMessage).toBe('requirements.txt line 2: cannot read the requirement "num py".')
    // biome-ignore lint/suspicious/noTemplateCurlyInString: pip's environment-variable syntax, refused
    expect(refusal('${SECRET}').code).toBe('BUNDLE_INVALID')
  })

  it('caps the number of requirements', () => {
    const content = Array.from({ length: 6 }, (_, i) => `pkg${i}`).join('\n')
    expect(() => parsePipRequirements({ content, fileName: 'r.txt', maxRequirements: 5 })).toThrow(/more than 5 requirements/)
  })
})
