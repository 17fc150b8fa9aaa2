// Finds which environment templates this host can run: a template is installed when every one of
// its Debian packages is. The result feeds `sandrun env list`, GET /environments, the check that
// refuses jobs for missing templates, and (through environmentDigestInput) the environment digest.
import { queryPackageVersions, type QueryPackageVersionsParameters, type QueryPackageVersionsReturnType } from './queryPackageVersions.ts'
import { environmentTemplates, type EnvironmentTemplate } from './templates.ts'

export type EnvironmentDetection = {
  template: EnvironmentTemplate
  installed: boolean
  /** Installed template packages and their Debian versions (all of them when `installed`). */
  versions: Record<string, string>
  /** Template packages this host lacks; `sandrun env install <name>` adds them. */
  missing: string[]
}

export type DetectEnvironmentsParameters = {
  templates?: readonly EnvironmentTemplate[] | undefined
  /** Injected in tests; defaults to dpkg-query. */
  queryVersions?: ((parameters: QueryPackageVersionsParameters) => Promise<QueryPackageVersionsReturnType>) | undefined
}

export type DetectEnvironmentsReturnType = EnvironmentDetection[]

export async function detectEnvironments({
  templates = environmentTemplates,
  queryVersions = queryPackageVersions,
}: DetectEnvironmentsParameters = {}): Promise<DetectEnvironmentsReturnType> {
  const installed = await queryVersions({ packages: templates.flatMap((t) => t.packages) })
  return templates.map((template) => {
    const versions: Record<string, string> = {}
    const missing: string[] = []
    for (const name of template.packages) {
      const version = installed.get(name)
      if (version === undefined) missing.push(name)
      else versions[name] = version
    }
    return { template, installed: missing.length === 0, versions, missing }
  })
}
