// Installs one template's Debian packages with apt-get (root only), streaming apt's lines as
// progress, then runs the template's import smoke check. Operators call it through
// `sandrun env install <name>`; jobs never trigger installs.
import { spawn } from 'node:child_process'
import { checkEnvironmentImports } from './checkEnvironmentImports.ts'
import { detectEnvironments, type EnvironmentDetection } from './detectEnvironments.ts'
import { EnvironmentError } from './environmentError.ts'
import { environmentTemplates, type EnvironmentTemplate } from './templates.ts'

export type InstallEnvironmentParameters = {
  name: string
  /** One line per apt-get output line and per step ("apt-get install …", "checking imports"). */
  onProgress?: ((line: string) => void) | undefined
  signal?: AbortSignal | undefined
  templates?: readonly EnvironmentTemplate[] | undefined
  aptGetPath?: string | undefined
  /** Whether this process may run apt-get; default: running as root. */
  isRoot?: boolean | undefined
}

export type InstallEnvironmentReturnType = EnvironmentDetection

type AptRun = { code: number | null; tail: string[] }

function runAptGet(aptGetPath: string, args: string[], onLine: (line: string) => void, signal: AbortSignal | undefined): Promise<AptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(aptGetPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' },
      signal,
    })
    const tail: string[] = []
    const collect = (chunk: Buffer, pending: { text: string }) => {
      pending.text += chunk.toString('utf8')
      const lines = pending.text.split('\n')
      pending.text = lines.pop() ?? ''
      for (const line of lines) {
        const trimmed = line.trimEnd()
        if (!trimmed) continue
        tail.push(trimmed)
        if (tail.length > 20) tail.shift()
        onLine(trimmed)
      }
    }
    const out = { text: '' }
    const err = { text: '' }
    child.stdout.on('data', (chunk: Buffer) => collect(chunk, out))
    child.stderr.on('data', (chunk: Buffer) => collect(chunk, err))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, tail }))
  })
}

export async function installEnvironment({
  name,
  onProgress = () => {},
  signal,
  templates = environmentTemplates,
  aptGetPath = '/usr/bin/apt-get',
  isRoot = process.getuid?.() === 0,
}: InstallEnvironmentParameters): Promise<InstallEnvironmentReturnType> {
  const template = templates.find((t) => t.name === name)
  if (!template) {
    throw new EnvironmentError('TEMPLATE_UNKNOWN', `There is no environment template named "${name}".`, {
      details: `Templates: ${templates.map((t) => t.name).join(', ')}.`,
    })
  }
  const before = (await detectEnvironments({ templates: [template] }))[0]!
  if (!before.installed) {
    if (!isRoot) {
      throw new EnvironmentError('NOT_ROOT', `Installing "${name}" needs root (apt-get installs ${before.missing.join(' ')}).`, {
        details: 'Run `sandrun env install` as root, or install the packages yourself with apt-get.',
      })
    }
    // Wait for a concurrent apt/dpkg run instead of failing on its lock.
    const install = ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', ...template.packages]
    onProgress(`apt-get install -y --no-install-recommends ${template.packages.join(' ')}`)
    let result = await runAptGet(aptGetPath, install, onProgress, signal)
    if (result.code !== 0) {
      // The usual cause is a stale package list (404 or "Unable to locate package"): refresh once.
      onProgress('apt-get update')
      const update = await runAptGet(aptGetPath, ['-o', 'DPkg::Lock::Timeout=300', 'update'], onProgress, signal)
      if (update.code === 0) {
        onProgress(`apt-get install -y --no-install-recommends ${template.packages.join(' ')}`)
        result = await runAptGet(aptGetPath, install, onProgress, signal)
      }
    }
    if (result.code !== 0) {
      throw new EnvironmentError('INSTALL_FAILED', `apt-get could not install the "${name}" template (exit code ${result.code}).`, {
        details: result.tail.slice(-5).join('\n'),
      })
    }
  }
  onProgress(`checking imports: ${template.imports.join(', ') || '(none)'}`)
  const failure = await checkEnvironmentImports({ template })
  if (failure) {
    throw new EnvironmentError('SMOKE_CHECK_FAILED', `The "${name}" packages are installed but a module does not import: ${failure}`, {
      details: 'Check that the packages match /usr/bin/python3 (`apt-get install --reinstall` them).',
    })
  }
  return (await detectEnvironments({ templates: [template] }))[0]!
}
