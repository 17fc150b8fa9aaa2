// Which installer a manifest's `requirements` path calls for: a `*.txt` file is a pip requirements
// file, a `package.json` is npm's. Anything else is a manifest mistake.
import path from 'node:path'
import { SandboxError } from '../errors.ts'

export type RequirementsKind = 'pip' | 'npm'

export function requirementsKind(requirements: string): RequirementsKind {
  const base = path.posix.basename(requirements)
  if (base === 'package.json') return 'npm'
  if (base.endsWith('.txt')) return 'pip'
  throw new SandboxError('MANIFEST_INVALID', `The manifest field "requirements" must name a requirements.txt (pip) or a package.json (npm); got "${requirements.slice(0, 120)}".`)
}
