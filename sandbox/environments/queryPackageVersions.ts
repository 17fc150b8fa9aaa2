// Asks dpkg which of some Debian packages are installed and at which version. One dpkg-query call
// for all packages: it prints the ones it knows and names the unknown ones on stderr.
import { execFile } from 'node:child_process'

export type QueryPackageVersionsParameters = {
  packages: readonly string[]
  /** dpkg-query binary; a fake in tests. */
  dpkgQueryPath?: string | undefined
}

/** Installed package → version; packages that are missing, removed or half-installed are absent. */
export type QueryPackageVersionsReturnType = Map<string, string>

export function queryPackageVersions({ packages, dpkgQueryPath = '/usr/bin/dpkg-query' }: QueryPackageVersionsParameters): Promise<QueryPackageVersionsReturnType> {
  if (packages.length === 0) return Promise.resolve(new Map())
  return new Promise((resolve) => {
    execFile(
      dpkgQueryPath,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format placeholders
      ['-W', '-f=${Package}\\t${db:Status-Status}\\t${Version}\\n', '--', ...new Set(packages)],
      { timeout: 30_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } },
      // Exit code 1 only means "some packages unknown"; stdout still lists the known ones. A host
      // without dpkg (not Debian) simply has no template packages.
      (_error, stdout) => {
        const versions = new Map<string, string>()
        for (const line of String(stdout ?? '').split('\n')) {
          const [name, status, version] = line.split('\t')
          // Multi-arch packages print as name:arch; templates name them without the arch.
          if (name && status === 'installed' && version) versions.set(name.replace(/:[a-z0-9]+$/, ''), version)
        }
        resolve(versions)
      },
    )
  })
}
