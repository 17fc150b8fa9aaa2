// The sandboxed install step for a job's requirements: the argv to run inside the job's sandbox
// (same /work, before the entrypoint), the read-only binds of the operator's local index, the
// step's environment, and what the entrypoint then needs to find the packages.
import path from 'node:path'
import { SandboxError } from '../errors.ts'
import type { RequirementsConfig } from './requirementsConfig.ts'
import { requirementsKind, type RequirementsKind } from './requirementsKind.ts'

export type RequirementsInstallStepParameters = {
  /** The manifest's `requirements`, already checked with checkRequirementsFile. */
  requirements: string
  config: RequirementsConfig
}

export type RequirementsInstallStep = {
  kind: RequirementsKind
  /** argv inside the sandbox (absolute paths under /usr), cwd /work. */
  command: string[]
  /** Added to the fixed job environment for this step only. */
  env: Record<string, string>
  /** bwrap arguments that bind the index read-only; they go after `--tmpfs /tmp` and before `--remount-ro /`. */
  bwrapArgs: string[]
  /** Added to the entrypoint's environment so it finds what the step installed. */
  jobEnv: Record<string, string>
}

/** Where the index appears inside the sandbox (for npm: the cache's index-v5 directory). */
export const sandboxIndexDir = { pip: '/index/pip', npm: '/index/npm-index' } as const
/** npm's working cache: in the job's /tmp, so its size counts against the /tmp cap. */
export const npmCacheDir = '/tmp/npm-cache'
/** pip installs here (not site-packages: /usr is read-only and shared by every job). */
export const pipTargetDir = '/work/.deps'

export function requirementsInstallStep({ requirements, config }: RequirementsInstallStepParameters): RequirementsInstallStep {
  const kind = requirementsKind(requirements)
  const index = kind === 'pip' ? config.pipIndex : config.npmIndex
  if (index === null) {
    throw new SandboxError('MANIFEST_INVALID', `This host has no ${kind} package index, so it cannot install "${requirements}".`)
  }
  const file = path.posix.join('/work', requirements)
  if (kind === 'pip') {
    return {
      kind,
      command: [
        config.pythonPath, '-m', 'pip', 'install',
        '--no-index', '--find-links', sandboxIndexDir.pip,
        // Wheels only: an sdist would run its build backend, slow and pointless without network.
        '--only-binary', ':all:',
        '--target', pipTargetDir,
        '--no-cache-dir', '--disable-pip-version-check', '--no-input', '--no-warn-script-location', '--progress-bar', 'off',
        '-r', file,
      ],
      env: {
        // No pip.conf from the bundle (HOME is /work) or anywhere else can change the index.
        PIP_CONFIG_FILE: '/dev/null',
        PIP_NO_INDEX: '1',
        PIP_FIND_LINKS: sandboxIndexDir.pip,
        PYTHONNOUSERSITE: '1',
      },
      bwrapArgs: ['--ro-bind', index, sandboxIndexDir.pip],
      jobEnv: { PYTHONPATH: pipTargetDir },
    }
  }
  // npm rewrites a cache index bucket whenever it reads one and takes a failed write for a miss,
  // so a read-only cache never hits. The job gets a private copy of the (small) index in its /tmp
  // and the (large) content store read-only underneath it.
  return {
    kind,
    command: [
      '/usr/bin/sh', '-c',
      `cp -R ${sandboxIndexDir.npm} ${npmCacheDir}/_cacache/index-v5 && chmod -R u+w ${npmCacheDir}/_cacache/index-v5 && exec "$@"`,
      'npm-install',
      config.nodePath, config.npmCliPath, 'install',
      '--offline', '--cache', npmCacheDir, '--registry', config.npmRegistry,
      // Command-line flags outrank any npmrc shipped in the bundle (the user and global config
      // would otherwise be read from /work); install scripts never run.
      '--userconfig', '/dev/null', '--globalconfig', '/nonexistent/npmrc', '--ignore-scripts', '--omit=dev',
      '--no-audit', '--no-fund', '--no-update-notifier', '--logs-dir', '/tmp/npm-logs',
      '--prefix', path.posix.dirname(file),
    ],
    env: {},
    bwrapArgs: [
      '--ro-bind', path.join(index, '_cacache', 'content-v2'), `${npmCacheDir}/_cacache/content-v2`,
      '--ro-bind', path.join(index, '_cacache', 'index-v5'), sandboxIndexDir.npm,
    ],
    // Node finds /work/<dir>/node_modules from the entrypoint by itself.
    jobEnv: {},
  }
}
