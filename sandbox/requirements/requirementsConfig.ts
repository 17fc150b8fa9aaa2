// The operator's package indexes for job requirements: a local wheelhouse directory for pip and a
// local npm cache directory for npm. Both are bound read-only into the install step, which has no
// network, so "reaches only the configured index" holds by construction. URL indexes would need a
// network policy the sandbox does not have yet; they are refused here, at start-up.
import { statSync } from 'node:fs'
import path from 'node:path'
import { SandboxError } from '../errors.ts'

export type RequirementsConfigInput = {
  /** Directory of .whl files (`pip download -d DIR -r requirements.txt --only-binary :all:` fills one). */
  pipIndex?: string | undefined
  /** An npm cache directory (`npm cache add <pkg>@<version> --cache DIR` fills one). */
  npmIndex?: string | undefined
  /** The registry the npm cache was filled from: npm keys its cache by registry URL. Never contacted. */
  npmRegistry?: string | undefined
  /** npm's CLI script inside /usr (the sandbox sees only /usr). */
  npmCliPath?: string | undefined
  nodePath?: string | undefined
  pythonPath?: string | undefined
}

export type RequirementsConfig = {
  pipIndex: string | null
  npmIndex: string | null
  npmRegistry: string
  npmCliPath: string
  nodePath: string
  pythonPath: string
}

export const defaultRequirementsConfig: Omit<RequirementsConfig, 'pipIndex' | 'npmIndex'> = {
  // npm's own default: a cache filled with plain `npm cache add` is keyed by it.
  npmRegistry: 'https://registry.npmjs.org/',
  // Debian's and NodeSource's npm both live here; the sandbox only sees /usr.
  npmCliPath: '/usr/lib/node_modules/npm/bin/npm-cli.js',
  nodePath: '/usr/bin/node',
  // The system python, whose site-packages the templates extend (never a pyenv shim).
  pythonPath: '/usr/bin/python3',
}

function isDirectoryPath(value: string): boolean {
  try {
    return statSync(value).isDirectory()
  } catch {
    return false
  }
}

function localIndex(option: string, value: string | undefined): string | null {
  if (value === undefined || value === '') return null
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new SandboxError('HOST_UNSUPPORTED', `${option} is a URL (${value}); package index URLs are not supported yet.`, {
      details: `Jobs install requirements without network. Point ${option} at a local directory instead (see docs/environments.md: "Requirements").`,
    })
  }
  if (!path.isAbsolute(value)) {
    throw new SandboxError('HOST_UNSUPPORTED', `${option} must be an absolute directory path; got "${value}".`)
  }
  const isDirectory = isDirectoryPath(value)
  if (!isDirectory) throw new SandboxError('HOST_UNSUPPORTED', `${option} "${value}" is not a directory.`, { details: 'Create it and fill it (docs/environments.md).' })
  if (option === 'npmIndex') {
    for (const part of ['content-v2', 'index-v5']) {
      if (!isDirectoryPath(path.join(value, '_cacache', part))) {
        throw new SandboxError('HOST_UNSUPPORTED', `npmIndex "${value}" is not an npm cache (no _cacache/${part}).`, {
          details: 'Fill it with `npm cache add <package>@<version> --cache <dir>` for every package jobs may use.',
        })
      }
    }
  }
  // Bound into the sandbox with bwrap, whose arguments are separated by NUL bytes.
  if (value.includes('\0')) throw new SandboxError('HOST_UNSUPPORTED', `${option} contains a NUL byte.`)
  return path.resolve(value)
}

function registryUrl(value: string): string {
  if (!/^https?:\/\/[^\s]+$/.test(value)) {
    throw new SandboxError('HOST_UNSUPPORTED', `npmRegistry must be the http(s) URL the npm cache was filled from; got "${value}".`)
  }
  return value
}

/** Validates the operator's options once at start-up; throws HOST_UNSUPPORTED with what to fix. */
export function requirementsConfig(input: RequirementsConfigInput = {}): RequirementsConfig {
  return {
    pipIndex: localIndex('pipIndex', input.pipIndex),
    npmIndex: localIndex('npmIndex', input.npmIndex),
    npmRegistry: registryUrl(input.npmRegistry ?? defaultRequirementsConfig.npmRegistry),
    npmCliPath: input.npmCliPath ?? defaultRequirementsConfig.npmCliPath,
    nodePath: input.nodePath ?? defaultRequirementsConfig.nodePath,
    pythonPath: input.pythonPath ?? defaultRequirementsConfig.pythonPath,
  }
}
