import { describe, expect, it } from 'vitest'
import { checkNpmPackageJson } from './checkNpmPackageJson.ts'

function check(packageJson: unknown) {
  return checkNpmPackageJson({ content: JSON.stringify(packageJson), fileName: 'package.json' })
}

describe('checkNpmPackageJson', () => {
  it('lists registry dependencies with ranges and skips devDependencies', () => {
    expect(
      check({
        name: 'job',
        dependencies: { lodash: '^4.17.21', '@scope/pkg': '1.x || >=2.1.0 <3', left: 'latest' },
        optionalDependencies: { chalk: '~5.3.0' },
        devDependencies: { evil: 'git+https://example.org/evil.git' },
      }),
    ).toEqual([
      { name: 'lodash', range: '^4.17.21' },
      { name: '@scope/pkg', range: '1.x || >=2.1.0 <3' },
      { name: 'left', range: 'latest' },
      { name: 'chalk', range: '~5.3.0' },
    ])
  })

  it.each([
    'git+https://example.org/x.git',
    'https://example.org/x.tgz',
    'file:../x',
    'link:../x',
    'npm:other@1.0.0',
    'user/repo',
    'github:user/repo',
  ])('refuses the dependency spec %s', (spec) => {
    expect(() => check({ dependencies: { x: spec } })).toThrow(/must be a version range/)
  })

  it('refuses invalid JSON, a non-object and invalid package names', () => {
    expect(() => checkNpmPackageJson({ content: '{', fileName: 'package.json' })).toThrow(/not valid JSON/)
    expect(() => check([])).toThrow(/must be a JSON object/)
    expect(() => check({ dependencies: ['x'] })).toThrow(/"dependencies" must be an object/)
    expect(() => check({ dependencies: { '../x': '1.0.0' } })).toThrow(/not a valid npm package name/)
  })
})
