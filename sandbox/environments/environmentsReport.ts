// The JSON document behind GET /environments and `sandrun env list --json`: every template with
// its packages, installed state, versions and environment digests, the interpreters, and totals.
// The digest function is passed in (node/ passes the verifier's environmentDigest).
import type { InterpreterInfo } from '../sandbox.ts'
import type { EnvironmentDetection } from './detectEnvironments.ts'
import { environmentDigestInput, type EnvironmentDigestInputReturnType } from './environmentDigestInput.ts'

export type EnvironmentsReportTemplate = {
  version: number
  description: string
  packages: string[]
  imports: string[]
  installed: boolean
  /** Debian versions of the installed template packages. */
  versions: Record<string, string>
  missing: string[]
  /** The digest for python3 jobs (every template but `default` is a Python package set); null when not installed. */
  digest: string | null
  /** The digest per available interpreter: a job's spec hash uses the one of its interpreter. */
  digests: Record<string, string>
}

export type EnvironmentsReport = {
  templates: Record<string, EnvironmentsReportTemplate>
  interpreters: Array<{ name: string; version: string | null }>
  stats: {
    total_templates: number
    installed_templates: number
    available_interpreters: number
  }
}

export type EnvironmentsReportParameters = {
  detections: readonly EnvironmentDetection[]
  interpreters: readonly InterpreterInfo[]
  digest: (input: NonNullable<EnvironmentDigestInputReturnType>) => string
}

export function environmentsReport({ detections, interpreters, digest }: EnvironmentsReportParameters): EnvironmentsReport {
  const available = interpreters.filter((i) => i.available && i.version !== null)
  const templates: Record<string, EnvironmentsReportTemplate> = {}
  for (const detection of detections) {
    const digests: Record<string, string> = {}
    for (const interpreter of available) {
      const input = environmentDigestInput({ detection, interpreterVersion: interpreter.version!, interpreterName: interpreter.name })
      if (input) digests[interpreter.name] = digest(input)
    }
    const { template } = detection
    templates[template.name] = {
      version: template.version,
      description: template.description,
      packages: [...template.packages],
      imports: [...template.imports],
      installed: detection.installed,
      versions: { ...detection.versions },
      missing: [...detection.missing],
      digest: digests.python3 ?? null,
      digests,
    }
  }
  return {
    templates,
    interpreters: interpreters.filter((i) => i.available).map((i) => ({ name: i.name, version: i.version })),
    stats: {
      total_templates: detections.length,
      installed_templates: detections.filter((d) => d.installed).length,
      available_interpreters: available.length,
    },
  }
}
