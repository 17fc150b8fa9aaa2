// Validates a submitted job manifest (already JSON-parsed) and fills in every default. The result
// is the normalized Manifest that the spec hash covers, so every check here is deterministic and
// every refusal tells the submitter which field to fix and what is allowed.
import picomatch from 'picomatch'
import { SandboxError } from './errors.ts'
import type { GpuRequirement, InterpreterName, Manifest } from './types.ts'

export type ManifestLimits = {
  /** Wall-clock seconds. */
  maxTimeout: number
  minMemoryMb: number
  maxMemoryMb: number
  maxCpuSeconds: number
  maxReplicas: number
  maxArgs: number
  /** Characters per argument. */
  maxArgLength: number
  maxEnvEntries: number
  /** Characters per environment value. */
  maxEnvValueLength: number
  maxOutputPatterns: number
}

export const defaultManifestLimits: ManifestLimits = {
  // One hour: longer jobs tie up a worker slot and a market escrow for too long.
  maxTimeout: 3600,
  // Below 16 MB no interpreter starts; 2 GB is what one slot of a small worker can promise.
  minMemoryMb: 16,
  maxMemoryMb: 2048,
  maxCpuSeconds: 3600,
  // Each replica costs a full run and an on-chain commit; 16 is plenty for majority safety.
  maxReplicas: 16,
  // Arguments and environment end up in execve(), whose total is limited (ARG_MAX, ~2 MB).
  maxArgs: 256,
  maxArgLength: 4096,
  maxEnvEntries: 256,
  maxEnvValueLength: 32 * 1024,
  maxOutputPatterns: 64,
}

export type ParseManifestOptions = {
  /** Operator overrides of the maximums; the defaults above apply to the rest. */
  limits?: Partial<ManifestLimits> | undefined
}

/** Every field a manifest may have; anything else is refused (a typo must not be silently ignored). */
export const manifestFieldNames = [
  'entrypoint',
  'interpreter',
  'environment',
  'args',
  'env',
  'outputs',
  'requirements',
  'timeout',
  'memory_mb',
  'cpu_seconds',
  'gpu',
  'replicas',
  'quorum',
  'reward_wei',
] as const satisfies readonly (keyof Manifest)[]

export const interpreterNames: readonly InterpreterName[] = [
  'python3',
  'node',
  'bash',
  'sh',
  'ruby',
  'Rscript',
  'perl',
  'php',
]

/** Entrypoint extension (lower-cased) -> interpreter, used when `interpreter` is not given. */
export const interpreterByExtension: Readonly<Record<string, InterpreterName>> = {
  '.py': 'python3',
  '.js': 'node',
  '.mjs': 'node',
  '.cjs': 'node',
  '.sh': 'bash',
  '.rb': 'ruby',
  '.r': 'Rscript',
  '.pl': 'perl',
  '.php': 'php',
}

/**
 * Environment names a job may not set. The sandbox sets these itself (determinism: two replicas
 * must see the same PATH, HOME, TZ, locale, hash seed, build epoch), or they make the dynamic
 * loader, a shell or an interpreter load code or configuration from somewhere other than the job's
 * entrypoint (loader, libc and interpreter search paths, startup files, option injection).
 */
export const forbiddenEnvNames: ReadonlySet<string> = new Set([
  // Set by the sandbox.
  'PATH',
  'HOME',
  'PWD',
  'OLDPWD',
  'SHELL',
  'USER',
  'LOGNAME',
  'HOSTNAME',
  'TZ',
  'TZDIR',
  'LANG',
  'LANGUAGE',
  'SOURCE_DATE_EPOCH',
  'PYTHONHASHSEED',
  'TMPDIR',
  // Shell startup and parsing.
  'IFS',
  'ENV',
  'BASH_ENV',
  'CDPATH',
  'GLOBIGNORE',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  // libc.
  'GCONV_PATH',
  'LOCPATH',
  'NLSPATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'RES_OPTIONS',
  'LOCALDOMAIN',
  'MALLOC_CHECK_',
  'MALLOC_PERTURB_',
  // Python.
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONSTARTUP',
  'PYTHONUSERBASE',
  'PYTHONEXECUTABLE',
  'PYTHONPLATLIBDIR',
  'PYTHONSAFEPATH',
  'PYTHONNOUSERSITE',
  // Node.
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  // Perl.
  'PERL5LIB',
  'PERLLIB',
  'PERL5OPT',
  'PERL5DB',
  // Ruby.
  'RUBYOPT',
  'RUBYLIB',
  'RUBYSHELL',
  'GEM_HOME',
  'GEM_PATH',
  // R.
  'R_HOME',
  'R_LIBS',
  'R_LIBS_USER',
  'R_LIBS_SITE',
  'R_PROFILE',
  'R_PROFILE_USER',
  'R_ENVIRON',
  'R_ENVIRON_USER',
  // PHP.
  'PHPRC',
  'PHP_INI_SCAN_DIR',
  // OpenSSL engines are shared objects loaded at startup.
  'OPENSSL_CONF',
  'OPENSSL_ENGINES',
  'OPENSSL_MODULES',
])

/** Prefixes refused the same way: loader (`LD_`), glibc tunables, locale, bash exported functions. */
export const forbiddenEnvPrefixes: readonly string[] = ['LD_', 'GLIBC_', 'LC_', 'BASH_FUNC_', 'DYLD_', 'SANDRUN_']

export function isForbiddenEnvName(name: string): boolean {
  return forbiddenEnvNames.has(name) || forbiddenEnvPrefixes.some((prefix) => name.startsWith(prefix))
}

const maxPathLength = 255
const maxPatternLength = 1024
const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/
const environmentNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const gpuFieldNames = ['required', 'min_vram_gb', 'cuda_version', 'compute_capability'] as const
const maxUint256 = (1n << 256n) - 1n

const defaults = { timeout: 300, memory_mb: 512, cpu_seconds: 60, replicas: 3 } as const

/**
 * Optional fields may be absent or `null` (both mean the default). Throws SandboxError with code
 * MANIFEST_INVALID (shape, type, range), INTERPRETER_UNKNOWN or ENV_FORBIDDEN. Whether the
 * entrypoint exists in the bundle and the environment on the host is checked elsewhere.
 */
export function parseManifest(input: unknown, options: ParseManifestOptions = {}): Manifest {
  const limits = resolveLimits(options.limits)
  if (!isPlainObject(input))
    throw invalid(`The manifest must be a JSON object; got ${describe(input)}.`, 'Send e.g. {"entrypoint": "main.py"}.')
  for (const key of Object.keys(input))
    if (!(manifestFieldNames as readonly string[]).includes(key))
      throw invalid(`Unknown manifest field ${JSON.stringify(key)}.`, `Allowed fields: ${manifestFieldNames.join(', ')}.`)

  const field = (name: (typeof manifestFieldNames)[number]): unknown => input[name] ?? undefined

  const entrypointValue = field('entrypoint')
  if (entrypointValue === undefined)
    throw invalid('The manifest field "entrypoint" is required.', 'Name the file to run, e.g. "main.py".')
  const entrypoint = relativePath('entrypoint', entrypointValue)
  const replicas = integer('replicas', field('replicas'), 1, limits.maxReplicas, defaults.replicas)

  return {
    entrypoint,
    interpreter: interpreter(field('interpreter'), entrypoint),
    environment: environmentName(field('environment')),
    args: args(field('args'), limits),
    env: env(field('env'), limits),
    outputs: outputs(field('outputs'), limits),
    requirements: field('requirements') === undefined ? null : relativePath('requirements', field('requirements')),
    timeout: integer('timeout', field('timeout'), 1, limits.maxTimeout, defaults.timeout, 'seconds'),
    memory_mb: integer('memory_mb', field('memory_mb'), limits.minMemoryMb, limits.maxMemoryMb, defaults.memory_mb, 'MB'),
    cpu_seconds: integer('cpu_seconds', field('cpu_seconds'), 1, limits.maxCpuSeconds, defaults.cpu_seconds, 'seconds'),
    gpu: gpu(field('gpu')),
    replicas,
    quorum: quorum(field('quorum'), replicas),
    reward_wei: rewardWei(field('reward_wei')),
  }
}

/** A JSON Schema (draft 2020-12) of the accepted manifest, for the gateway's OpenAPI docs. */
export function manifestJsonSchema(options: ParseManifestOptions = {}): Record<string, unknown> {
  const limits = resolveLimits(options.limits)
  const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] })
  return {
    type: 'object',
    additionalProperties: false,
    required: ['entrypoint'],
    properties: {
      entrypoint: { type: 'string', minLength: 1, maxLength: maxPathLength, description: 'File to run, relative to /work.' },
      interpreter: { enum: interpreterNames, description: 'Default: detected from the entrypoint extension.' },
      environment: { type: 'string', pattern: environmentNamePattern.source, default: 'default' },
      args: { type: 'array', maxItems: limits.maxArgs, items: { type: 'string', maxLength: limits.maxArgLength } },
      env: {
        type: 'object',
        maxProperties: limits.maxEnvEntries,
        propertyNames: { pattern: envNamePattern.source },
        additionalProperties: { type: 'string', maxLength: limits.maxEnvValueLength },
        description: `Extra environment. Refused: ${[...forbiddenEnvNames].join(', ')} and names starting with ${forbiddenEnvPrefixes.join(', ')}.`,
      },
      outputs: {
        type: 'array',
        maxItems: limits.maxOutputPatterns,
        items: { type: 'string', maxLength: maxPatternLength },
        default: [],
        description: 'Glob patterns relative to /work (dotfiles match). Empty: every file the job created or changed.',
      },
      requirements: nullable({ type: 'string', maxLength: maxPathLength }),
      timeout: { type: 'integer', minimum: 1, maximum: limits.maxTimeout, default: defaultFor(defaults.timeout, limits.maxTimeout) },
      memory_mb: {
        type: 'integer',
        minimum: limits.minMemoryMb,
        maximum: limits.maxMemoryMb,
        default: defaultFor(defaults.memory_mb, limits.maxMemoryMb),
      },
      cpu_seconds: {
        type: 'integer',
        minimum: 1,
        maximum: limits.maxCpuSeconds,
        default: defaultFor(defaults.cpu_seconds, limits.maxCpuSeconds),
      },
      gpu: nullable({
        type: 'object',
        additionalProperties: false,
        required: ['required'],
        properties: {
          required: { type: 'boolean' },
          min_vram_gb: { type: 'number', exclusiveMinimum: 0 },
          cuda_version: { type: 'string', pattern: '^\\d+(\\.\\d+){0,2}$' },
          compute_capability: { type: 'string', pattern: '^\\d+\\.\\d+$' },
        },
      }),
      replicas: { type: 'integer', minimum: 1, maximum: limits.maxReplicas, default: defaultFor(defaults.replicas, limits.maxReplicas) },
      quorum: nullable({ type: 'integer', minimum: 1, description: 'From a majority of replicas to all of them; null = majority.' }),
      reward_wei: nullable({ type: 'string', pattern: '^(0|[1-9][0-9]*)$', description: 'Reward per replica in wei.' }),
    },
  }
}

function resolveLimits(overrides: Partial<ManifestLimits> | undefined): ManifestLimits {
  const limits = { ...defaultManifestLimits }
  for (const [key, value] of Object.entries(overrides ?? {}))
    if (value !== undefined) limits[key as keyof ManifestLimits] = value
  return limits
}

/** An operator may lower a maximum below the usual default; the default follows it down. */
function defaultFor(usual: number, max: number): number {
  return Math.min(usual, max)
}

function relativePath(name: string, value: unknown): string {
  if (typeof value !== 'string') throw wrongType(name, 'a string (a path relative to /work)', value)
  if (value.length === 0 || value.length > maxPathLength)
    throw invalid(`The manifest field "${name}" must be 1 to ${maxPathLength} characters long; got ${value.length}.`)
  if (value.includes('\0')) throw invalid(`The manifest field "${name}" contains a NUL character.`)
  if (value.startsWith('/'))
    throw invalid(
      `The manifest field "${name}" must be relative to the bundle root; got ${JSON.stringify(value)}.`,
      'Drop the leading "/".',
    )
  const components = value.split('/').filter((c) => c !== '' && c !== '.')
  if (components.includes('..'))
    throw invalid(`The manifest field "${name}" may not contain ".."; got ${JSON.stringify(value)}.`)
  if (components.length === 0) throw invalid(`The manifest field "${name}" must name a file; got ${JSON.stringify(value)}.`)
  return components.join('/')
}

function interpreter(value: unknown, entrypoint: string): InterpreterName {
  const supported = interpreterNames.join(', ')
  if (value !== undefined) {
    if (typeof value !== 'string') throw wrongType('interpreter', `one of ${supported}`, value)
    if (!(interpreterNames as readonly string[]).includes(value))
      throw new SandboxError('INTERPRETER_UNKNOWN', `Unknown interpreter ${JSON.stringify(value)}.`, {
        details: `Supported interpreters: ${supported}.`,
      })
    return value as InterpreterName
  }
  const base = entrypoint.slice(entrypoint.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  const detected = dot > 0 ? interpreterByExtension[base.slice(dot).toLowerCase()] : undefined
  if (detected === undefined)
    throw new SandboxError(
      'INTERPRETER_UNKNOWN',
      `Cannot tell the interpreter from the entrypoint ${JSON.stringify(entrypoint)}.`,
      {
        details: `Set "interpreter" to one of ${supported}, or use an entrypoint ending in ${Object.keys(interpreterByExtension).join(', ')}.`,
      },
    )
  return detected
}

function environmentName(value: unknown): string {
  if (value === undefined) return 'default'
  if (typeof value !== 'string') throw wrongType('environment', 'a string (an environment template name)', value)
  if (!environmentNamePattern.test(value))
    throw invalid(
      `The manifest field "environment" is not a valid template name; got ${JSON.stringify(value.slice(0, 80))}.`,
      'Use letters, digits, ".", "_" and "-" (at most 64); GET /environments lists them.',
    )
  return value
}

function args(value: unknown, limits: ManifestLimits): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw wrongType('args', 'an array of strings', value)
  if (value.length > limits.maxArgs)
    throw invalid(`The manifest field "args" has ${value.length} items; at most ${limits.maxArgs} are allowed.`)
  return value.map((arg, index) => {
    if (typeof arg !== 'string') throw wrongType(`args[${index}]`, 'a string', arg)
    if (arg.length > limits.maxArgLength)
      throw invalid(`The manifest field "args[${index}]" is ${arg.length} characters long; at most ${limits.maxArgLength} are allowed.`)
    if (arg.includes('\0')) throw invalid(`The manifest field "args[${index}]" contains a NUL character.`)
    return arg
  })
}

function env(value: unknown, limits: ManifestLimits): Record<string, string> {
  if (value === undefined) return {}
  if (!isPlainObject(value)) throw wrongType('env', 'an object of string values', value)
  const names = Object.keys(value).sort()
  if (names.length > limits.maxEnvEntries)
    throw invalid(`The manifest field "env" has ${names.length} entries; at most ${limits.maxEnvEntries} are allowed.`)
  const entries: [string, string][] = []
  for (const name of names) {
    if (!envNamePattern.test(name))
      throw invalid(
        `The environment variable name ${JSON.stringify(name.slice(0, 80))} is invalid.`,
        'Names are letters, digits and "_", not starting with a digit.',
      )
    if (isForbiddenEnvName(name))
      throw new SandboxError('ENV_FORBIDDEN', `The environment variable ${name} may not be set by a job.`, {
        details: `The sandbox sets it itself, or it changes how programs are loaded. Refused: ${[...forbiddenEnvNames].join(', ')}, and names starting with ${forbiddenEnvPrefixes.join(', ')}.`,
      })
    const entry = value[name]
    if (typeof entry !== 'string') throw wrongType(`env.${name}`, 'a string', entry)
    if (entry.length > limits.maxEnvValueLength)
      throw invalid(`The value of env.${name} is ${entry.length} characters long; at most ${limits.maxEnvValueLength} are allowed.`)
    if (entry.includes('\0')) throw invalid(`The value of env.${name} contains a NUL character.`)
    entries.push([name, entry])
  }
  // fromEntries defines own properties, so even a variable named __proto__ is kept, not swallowed.
  return Object.fromEntries(entries)
}

function outputs(value: unknown, limits: ManifestLimits): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw wrongType('outputs', 'an array of glob patterns', value)
  if (value.length > limits.maxOutputPatterns)
    throw invalid(`The manifest field "outputs" has ${value.length} patterns; at most ${limits.maxOutputPatterns} are allowed.`)
  return value.map((pattern, index) => {
    const name = `outputs[${index}]`
    if (typeof pattern !== 'string') throw wrongType(name, 'a string (a glob pattern)', pattern)
    // Patterns match paths relative to /work, which never start with "./".
    const normalized = pattern.replace(/^(\.\/)+/, '')
    if (normalized.length === 0 || normalized.length > maxPatternLength)
      throw invalid(`The manifest field "${name}" must be 1 to ${maxPatternLength} characters long.`)
    if (normalized.includes('\0')) throw invalid(`The manifest field "${name}" contains a NUL character.`)
    if (normalized.startsWith('/'))
      throw invalid(`The manifest field "${name}" must be relative to /work; got ${JSON.stringify(pattern)}.`)
    if (normalized.split('/').includes('..'))
      throw invalid(`The manifest field "${name}" may not contain ".."; got ${JSON.stringify(pattern)}.`)
    try {
      picomatch(normalized, { dot: true })
    } catch (error) {
      throw invalid(`The manifest field "${name}" is not a valid glob pattern.`, errorMessage(error))
    }
    return normalized
  })
}

function integer(
  name: string,
  value: unknown,
  min: number,
  max: number,
  usual: number,
  unit?: string,
): number {
  if (value === undefined) return defaultFor(usual, max)
  const range = `from ${min} to ${max}${unit ? ` (${unit})` : ''}`
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(name, `an integer ${range}`, value)
  if (value < min || value > max) throw invalid(`The manifest field "${name}" must be ${range}; got ${value}.`)
  return value
}

function gpu(value: unknown): GpuRequirement | null {
  if (value === undefined) return null
  if (!isPlainObject(value)) throw wrongType('gpu', 'an object like {"required": true} or null', value)
  for (const key of Object.keys(value))
    if (!(gpuFieldNames as readonly string[]).includes(key))
      throw invalid(`Unknown field ${JSON.stringify(key)} in "gpu".`, `Allowed fields: ${gpuFieldNames.join(', ')}.`)
  if (typeof value.required !== 'boolean') throw wrongType('gpu.required', 'a boolean', value.required)
  const result: GpuRequirement = { required: value.required }
  const vram = value.min_vram_gb ?? undefined
  if (vram !== undefined) {
    if (typeof vram !== 'number' || !Number.isFinite(vram) || vram <= 0 || vram > 4096)
      throw wrongType('gpu.min_vram_gb', 'a number of GiB above 0 (at most 4096)', vram)
    result.min_vram_gb = vram
  }
  const cuda = value.cuda_version ?? undefined
  if (cuda !== undefined) {
    if (typeof cuda !== 'string' || !/^\d+(\.\d+){0,2}$/.test(cuda)) throw wrongType('gpu.cuda_version', 'a version string like "12.2"', cuda)
    result.cuda_version = cuda
  }
  const capability = value.compute_capability ?? undefined
  if (capability !== undefined) {
    if (typeof capability !== 'string' || !/^\d+\.\d+$/.test(capability))
      throw wrongType('gpu.compute_capability', 'a string like "8.0"', capability)
    result.compute_capability = capability
  }
  return result
}

function quorum(value: unknown, replicas: number): number | null {
  if (value === undefined) return null
  const majority = Math.floor(replicas / 2) + 1
  const range = `from ${majority} (a majority of ${replicas} replicas) to ${replicas}, or null for a majority`
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType('quorum', `an integer ${range}`, value)
  if (value < majority || value > replicas) throw invalid(`The manifest field "quorum" must be ${range}; got ${value}.`)
  return value
}

function rewardWei(value: unknown): string | null {
  if (value === undefined) return null
  // A string, not a number: wei amounts exceed 2^53 and would silently lose precision in JSON.
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]*)$/.test(value))
    throw wrongType('reward_wei', 'a decimal string of wei like "1000000000000000"', value)
  if (value.length > 78 || BigInt(value) > maxUint256) throw invalid('The manifest field "reward_wei" exceeds 2^256 - 1.')
  return value
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`
  return `a value of type ${typeof value}`
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function wrongType(name: string, expected: string, value: unknown): SandboxError {
  return invalid(`The manifest field "${name}" must be ${expected}; got ${describe(value)}.`)
}

function invalid(message: string, fix?: string): SandboxError {
  return new SandboxError('MANIFEST_INVALID', message, { details: fix })
}
