// Validates a job's requirements.txt before anything runs: names with version pins, extras,
// environment markers and --hash are fine; anything that would fetch from elsewhere or run a build
// from a path (URLs, -e, -r/-c, index options, local paths) is refused with the line to fix.
import { SandboxError } from '../errors.ts'

export type PipRequirement = {
  name: string
  extras: string[]
  /** e.g. `==1.2.3` or `>=1,<2`; empty when unpinned. */
  specifier: string
  /** The PEP 508 environment marker after `;`, or null. */
  marker: string | null
  /** Line number (1-based) where the requirement starts. */
  line: number
}

export type ParsePipRequirementsParameters = {
  content: string
  /** The path in the bundle, for messages. */
  fileName: string
  maxRequirements?: number | undefined
}

export type ParsePipRequirementsReturnType = PipRequirement[]

const namePattern = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?'
const versionClause = '(?:===|==|!=|~=|<=|>=|<|>)\\s*[A-Za-z0-9.*+!_-]+'
const requirementPattern = new RegExp(
  `^(${namePattern})\\s*(?:\\[\\s*((?:${namePattern})(?:\\s*,\\s*${namePattern})*)?\\s*\\])?\\s*(${versionClause}(?:\\s*,\\s*${versionClause})*)?\\s*$`,
)
const hashOption = /^--hash[=\s]\s*(sha256|sha384|sha512):[0-9a-f]+$/i

/** Why an option line is refused, keyed by the option's long and short spellings. */
function refusedOption(option: string): string {
  const name = option.split(/[=\s]/, 1)[0]!
  if (['-e', '--editable'].includes(name)) return 'editable installs build from a source tree; list the package name with a version pin instead'
  if (['-r', '--requirement', '-c', '--constraint'].includes(name)) return 'nested requirement files are not read; list every requirement in this one file'
  if (['-i', '--index-url', '--extra-index-url', '-f', '--find-links', '--no-index', '--trusted-host'].includes(name))
    return "jobs install only from this host's package index; remove the option"
  return 'options other than --hash are not accepted; remove it'
}

function fail(fileName: string, line: number, problem: string, details: string): never {
  throw new SandboxError('BUNDLE_INVALID', `${fileName} line ${line}: ${problem}`, { details })
}

export function parsePipRequirements({ content, fileName, maxRequirements = 500 }: ParsePipRequirementsParameters): ParsePipRequirementsReturnType {
  const requirements: PipRequirement[] = []
  const physical = content.split(/\r?\n/)
  for (let index = 0; index < physical.length; index++) {
    const lineNumber = index + 1
    // pip joins lines ending in a backslash before anything else.
    let text = physical[index]!
    while (text.endsWith('\\') && index + 1 < physical.length) text = text.slice(0, -1) + physical[++index]!
    // A comment starts at a '#' at the line start or after whitespace (pip's rule).
    text = text.replace(/(^|\s)#.*$/, '').trim()
    if (text === '') continue
    if (text.startsWith('-')) {
      fail(fileName, lineNumber, `the option ${JSON.stringify(text.slice(0, 40))} is not allowed: ${refusedOption(text)}.`, 'Allowed lines: `name`, `name==1.2.3`, `name[extra]>=1,<2`, `name==1.0 ; python_version >= "3.8"`, `--hash=sha256:…` after a requirement, and comments.')
    }
    if (/:\/\/|^\S+\s*@|^[.~/]|\.(whl|zip|tar\.gz|tgz)\b/i.test(text)) {
      fail(fileName, lineNumber, `${JSON.stringify(text.slice(0, 60))} points at a URL or a path.`, "Jobs install packages by name from this host's package index; write `name==version` instead.")
    }
    // Everything after the first ' --' is per-requirement options; only hashes are accepted.
    const [requirementPart = '', ...options] = text.split(/\s+(?=--)/)
    for (const option of options) {
      if (!hashOption.test(option.trim())) fail(fileName, lineNumber, `the option ${JSON.stringify(option.trim().slice(0, 40))} is not allowed after a requirement.`, 'Only --hash=<algorithm>:<hex> may follow a requirement.')
    }
    const semicolon = requirementPart.indexOf(';')
    const spec = (semicolon >= 0 ? requirementPart.slice(0, semicolon) : requirementPart).trim()
    const marker = semicolon >= 0 ? requirementPart.slice(semicolon + 1).trim() : null
    const match = requirementPattern.exec(spec)
    if (!match) {
      fail(fileName, lineNumber, `cannot read the requirement ${JSON.stringify(spec.slice(0, 60))}.`, 'Write a package name, optional [extras] and optional version clauses, e.g. `numpy==1.26.4` or `requests[socks]>=2.31,<3`.')
    }
    if (marker !== null && (marker === '' || /[`$\\]/.test(marker))) {
      fail(fileName, lineNumber, `the environment marker ${JSON.stringify(marker.slice(0, 60))} is not valid.`, 'Write a PEP 508 marker such as `python_version >= "3.8"`.')
    }
    requirements.push({
      name: match[1]!,
      extras: match[2] ? match[2].split(',').map((e) => e.trim()) : [],
      specifier: (match[3] ?? '').replace(/\s+/g, ''),
      marker,
      line: lineNumber,
    })
    if (requirements.length > maxRequirements) {
      fail(fileName, lineNumber, `more than ${maxRequirements} requirements.`, 'Split the job or use an environment template that already has the packages.')
    }
  }
  return requirements
}
