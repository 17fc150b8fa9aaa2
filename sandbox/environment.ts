// The job's environment: fixed, deterministic variables (so replicas of a job compute the same
// result) merged with the user's `env`, which the manifest parser has already checked for
// loader and security variables.
import type { Manifest } from './types.ts'

/** Variables every job gets; the user's env cannot override these. */
export const fixedEnvironment: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/work',
  PWD: '/work',
  TMPDIR: '/tmp',
  USER: 'sandbox',
  LOGNAME: 'sandbox',
  LANG: 'C.UTF-8',
  TZ: 'UTC',
  PYTHONHASHSEED: '0',
  // Keeps __pycache__ out of /work, where it would show up as output files.
  PYTHONDONTWRITEBYTECODE: '1',
  // Live logs: flush Python's stdout line by line instead of in 8 KiB blocks.
  PYTHONUNBUFFERED: '1',
  SOURCE_DATE_EPOCH: '0',
}

export function jobEnvironment(manifest: Pick<Manifest, 'env'>): Record<string, string> {
  return { ...manifest.env, ...fixedEnvironment }
}
