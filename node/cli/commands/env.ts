// `sandrun env`: lists the environment templates with installed state, Debian package versions and
// environment digests (`list [--json]`, the same JSON as GET /environments), and installs one
// template's packages with apt-get (`install <name>`, root only).
import { parseArgs } from 'node:util'
import { detectEnvironments, environmentsReport, type EnvironmentsReport, installEnvironment, detectInterpreters } from '../../../sandbox/index.ts'
import { environmentDigest } from '../../../verifier/index.ts'
import { errorMessageOf } from '../../../errors/index.ts'

export const description = 'List environment templates (installed, versions, digests) or install one'

const usage = `Usage: sandrun env list [--json]
       sandrun env install <name>

list     every template: installed or not, package versions, environment digest
         (--json prints the same document as GET /environments)
install  apt-get installs the template's Debian packages (root), then checks its imports

Options:
  --json      machine-readable output (list)
  -h, --help  show this help
`

/** The /environments document for this host; the gateway can serve the same thing. */
export async function buildEnvironmentsReport(): Promise<EnvironmentsReport> {
  const [detections, interpreters] = await Promise.all([detectEnvironments(), detectInterpreters()])
  return environmentsReport({ detections, interpreters, digest: environmentDigest })
}

function printTable(report: EnvironmentsReport): void {
  const lines: string[] = []
  for (const [name, template] of Object.entries(report.templates)) {
    const state = template.installed ? 'installed' : `missing ${template.missing.length} of ${template.packages.length} packages`
    lines.push(`${name} (v${template.version})  ${state}`)
    lines.push(`  ${template.description}`)
    for (const pkg of template.packages) lines.push(`  ${pkg.padEnd(26)} ${template.versions[pkg] ?? '-'}`)
    if (template.digest) lines.push(`  digest (python3) ${template.digest}`)
    else if (!template.installed) lines.push(`  install: sandrun env install ${name}`)
    lines.push('')
  }
  const { stats } = report
  lines.push(`${stats.installed_templates} of ${stats.total_templates} templates installed; ${stats.available_interpreters} interpreters available.`)
  process.stdout.write(`${lines.join('\n')}\n`)
}

export async function run(argv: string[]): Promise<number> {
  let parsed: { values: { json?: boolean | undefined; help?: boolean | undefined }; positionals: string[] }
  try {
    parsed = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    })
  } catch (error) {
    process.stderr.write(`sandrun env: ${errorMessageOf(error)}\n\n${usage}`)
    return 2
  }
  const { values, positionals } = parsed
  const [action, ...rest] = positionals
  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  if (action === 'list' && rest.length === 0) {
    const report = await buildEnvironmentsReport()
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    else printTable(report)
    return 0
  }
  if (action === 'install' && rest.length === 1 && !values.json) {
    const detection = await installEnvironment({ name: rest[0]!, onProgress: (line) => process.stderr.write(`${line}\n`) })
    process.stdout.write(`${detection.template.name} is installed: ${Object.entries(detection.versions).map(([p, v]) => `${p} ${v}`).join(', ') || 'no extra packages'}\n`)
    return 0
  }
  process.stderr.write(usage)
  return 2
}
