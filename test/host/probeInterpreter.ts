// Is an optional interpreter (ruby, Rscript, php: `npm run setup` tries them, a host may lack
// them) installed? Asked of the host, not of the sandbox under test.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { interpreterSpecs } from '../../sandbox/languages.ts'
import type { InterpreterName } from '../../sandbox/types.ts'
import type { HostSupport } from './requireHost.ts'

export function probeInterpreter(name: InterpreterName): HostSupport {
  const spec = interpreterSpecs.find((s) => s.name === name)!
  const binary = spec.candidates.find((candidate) => existsSync(candidate))
  if (!binary) return { supported: false, reason: `${name} is not installed on this host (apt-get install ${spec.debianPackage})` }
  if (spec.versionArgs.length === 0) return { supported: true }
  const run = spawnSync(binary, spec.versionArgs, { encoding: 'utf8', timeout: 20_000 })
  if (run.status === 0) return { supported: true }
  throw new Error(`Cannot check ${name} on this host: ${binary} ${spec.versionArgs.join(' ')} ${run.error?.message ?? `ended ${run.signal ?? `with exit ${run.status}`}`} ${run.stderr ?? ''}`.trim())
}
