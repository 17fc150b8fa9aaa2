// Jobs see the template packages installed on this host: for every installed template, a job in
// the real sandbox imports each module the template promises. CI installs at least `nlp`
// (`sandrun env install nlp` in setup), so this runs more than the default template there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectEnvironments, type EnvironmentDetection } from '../../sandbox/environments/detectEnvironments.ts'
import { createJobRunner, type JobRunner } from '../sandbox/createJobRunner.ts'

let runner: JobRunner
let installed: EnvironmentDetection[]

beforeAll(async () => {
  runner = await createJobRunner()
  installed = (await detectEnvironments()).filter((d) => d.installed)
})
afterAll(() => runner.close())

describe('template packages inside the sandbox', () => {
  it('always has the default template', () => {
    expect(installed.map((d) => d.template.name)).toContain('default')
  })

  it('imports every module of every installed template', async () => {
    for (const { template } of installed) {
      const program = [
        'import importlib, json',
        `mods = ${JSON.stringify(template.imports)}`,
        'print(json.dumps({m: importlib.import_module(m).__name__ for m in mods}))',
      ].join('\n')
      const result = await runner.run({ files: { 'main.py': program }, manifest: { environment: template.name, memory_mb: 512, timeout: 60 } })
      expect({ template: template.name, exit: result.exitCode, stderr: result.err }).toEqual({ template: template.name, exit: 0, stderr: '' })
      expect(Object.keys(result.report())).toEqual(template.imports)
    }
  })
})
