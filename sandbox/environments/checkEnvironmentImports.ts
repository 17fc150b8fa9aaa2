// The smoke check of a template: the host's python3 imports every module the template promises.
// Run after `sandrun env install`, so a broken install fails there and not in a user's job.
import { execFile } from 'node:child_process'
import type { EnvironmentTemplate } from './templates.ts'

export type CheckEnvironmentImportsParameters = {
  template: EnvironmentTemplate
  pythonPath?: string | undefined
}

/** null when every module imports, else python's last error line (e.g. `ModuleNotFoundError: No module named 'nltk'`). */
export type CheckEnvironmentImportsReturnType = string | null

export function checkEnvironmentImports({ template, pythonPath = '/usr/bin/python3' }: CheckEnvironmentImportsParameters): Promise<CheckEnvironmentImportsReturnType> {
  if (template.imports.length === 0) return Promise.resolve(null)
  // One module per statement so the error names the module that failed.
  const program = template.imports.map((m) => `import ${m}`).join('\n')
  return new Promise((resolve) => {
    execFile(
      pythonPath,
      ['-I', '-c', program],
      { timeout: 120_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/nonexistent', ...template.env } },
      (error, _stdout, stderr) => {
        if (!error) return resolve(null)
        const lines = String(stderr).trim().split('\n')
        resolve(lines[lines.length - 1] || String(error.message))
      },
    )
  })
}
