// `sandrun env` through the real CLI: the JSON matches this host's dpkg state and the verifier's
// digest, and install refuses unknown templates without touching apt.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { detectEnvironments } from '../../sandbox/environments/detectEnvironments.ts'
import { environmentDigestInput } from '../../sandbox/environments/environmentDigestInput.ts'
import type { EnvironmentsReport } from '../../sandbox/environments/environmentsReport.ts'
import { detectInterpreters } from '../../sandbox/languages.ts'
import { environmentDigest } from '../../verifier/index.ts'
import { sandrunBin as bin } from '../runSandrunCli.ts'


async function sandrun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args])
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('sandrun env', () => {
  it('list --json reports every template with this host\'s installed state and the verifier\'s digest', async () => {
    const result = await sandrun(['env', 'list', '--json'])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as EnvironmentsReport
    expect(Object.keys(report.templates)).toEqual(['default', 'ml-basic', 'vision', 'nlp', 'data-science', 'scientific'])

    const detections = await detectEnvironments()
    const python = (await detectInterpreters()).find((i) => i.name === 'python3')!
    for (const detection of detections) {
      const listed = report.templates[detection.template.name]!
      expect(listed.installed).toBe(detection.installed)
      expect(listed.versions).toEqual(detection.versions)
      const input = environmentDigestInput({ detection, interpreterVersion: python.version!, interpreterName: 'python3' })
      expect(listed.digest).toBe(input ? environmentDigest(input) : null)
    }
    expect(report.templates.default).toMatchObject({ installed: true, packages: [], digest: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
    expect(report.stats.installed_templates).toBe(detections.filter((d) => d.installed).length)
  })

  it('list prints a readable table with the install hint for missing templates', async () => {
    const result = await sandrun(['env', 'list'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^default \(v1\)\s+installed$/m)
    const missing = (await detectEnvironments()).find((d) => !d.installed)
    if (missing) expect(result.stdout).toContain(`sandrun env install ${missing.template.name}`)
  })

  it('install refuses an unknown template, naming the real ones', async () => {
    const result = await sandrun(['env', 'install', 'gpu-magic'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('There is no environment template named "gpu-magic"')
  })

  it('install of an already installed template only runs its smoke check', async () => {
    const result = await sandrun(['env', 'install', 'default'])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('default is installed: no extra packages\n')
  })

  it('answers a missing action with the usage and exit code 2', async () => {
    const result = await sandrun(['env'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Usage: sandrun env list')
  })
})
