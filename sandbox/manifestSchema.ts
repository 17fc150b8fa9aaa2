// The one definition of the job manifest: every field with its type, range, default and meaning, as
// a TypeBox schema. The gateway serves it as the JSON Schema in its OpenAPI document, and
// parseManifest (manifest.ts) reads its limits from it, so the documentation and the checks cannot
// drift. What a JSON Schema cannot say (path normalization, forbidden environment names, glob
// syntax, a quorum relative to the replicas, a reward below 2^256) manifest.ts checks in code.
import { Type, type Static, type TObject, type TSchema, type TUnsafe } from '@sinclair/typebox'
import { forbiddenEnvNames, forbiddenEnvPrefixes } from './forbiddenEnvNames.ts'
import type { InterpreterName, Manifest } from './types.ts'

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

export const interpreterNames: readonly InterpreterName[] = ['python3', 'node', 'bash', 'sh', 'ruby', 'Rscript', 'perl', 'php']

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

const maxPathLength = 255
// A GPU with more memory than this does not exist; the cap keeps absurd numbers out of matching.
const maxVramGb = 4096

/** The schema's parts, for the validator to read its limits from. */
export type ManifestSchemaParts = ReturnType<typeof buildParts>

function buildParts(limits: ManifestLimits) {
  const path = (description: string) => Type.String({ minLength: 1, maxLength: maxPathLength, description })
  const arg = Type.String({ maxLength: limits.maxArgLength })
  const envName = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })
  const envValue = Type.String({ maxLength: limits.maxEnvValueLength })
  const outputPattern = Type.String({ minLength: 1, maxLength: 1024 })
  const gpu = {
    required: Type.Boolean(),
    min_vram_gb: Type.Number({ exclusiveMinimum: 0, maximum: maxVramGb, description: 'GiB of GPU memory.' }),
    cuda_version: Type.String({ pattern: '^\\d+(\\.\\d+){0,2}$', description: 'e.g. "12.2".' }),
    compute_capability: Type.String({ pattern: '^\\d+\\.\\d+$', description: 'e.g. "8.0".' }),
  }
  const fields = {
    entrypoint: path('File to run, relative to /work.'),
    interpreter: Type.Unsafe<InterpreterName>({ enum: [...interpreterNames], description: 'Default: detected from the entrypoint extension.' }),
    environment: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', default: 'default', description: 'Environment template; GET /environments lists them.' }),
    args: Type.Array(arg, { maxItems: limits.maxArgs, default: [] }),
    env: Type.Object(
      {},
      {
        maxProperties: limits.maxEnvEntries,
        propertyNames: envName,
        additionalProperties: envValue,
        default: {},
        description: `Extra environment. Refused: ${[...forbiddenEnvNames].join(', ')} and names starting with ${forbiddenEnvPrefixes.join(', ')}.`,
      },
    ),
    outputs: Type.Array(outputPattern, {
      maxItems: limits.maxOutputPatterns,
      default: [],
      description: 'Glob patterns relative to /work (dotfiles match). Empty: every file the job created or changed.',
    }),
    requirements: path('Requirements file (pip, npm, ...), relative to /work; installed before the run.'),
    timeout: Type.Integer({ minimum: 1, maximum: limits.maxTimeout, default: Math.min(300, limits.maxTimeout), description: 'Wall-clock seconds.' }),
    memory_mb: Type.Integer({ minimum: limits.minMemoryMb, maximum: limits.maxMemoryMb, default: Math.min(512, limits.maxMemoryMb) }),
    cpu_seconds: Type.Integer({ minimum: 1, maximum: limits.maxCpuSeconds, default: Math.min(60, limits.maxCpuSeconds) }),
    gpu: Type.Object(
      { required: gpu.required, min_vram_gb: nullable(gpu.min_vram_gb), cuda_version: nullable(gpu.cuda_version), compute_capability: nullable(gpu.compute_capability) },
      { additionalProperties: false, description: 'Refused where no GPU matches.' },
    ),
    replicas: Type.Integer({ minimum: 1, maximum: limits.maxReplicas, default: Math.min(3, limits.maxReplicas), description: 'Market only.' }),
    quorum: Type.Integer({ minimum: 1, maximum: limits.maxReplicas, description: 'From a majority of replicas to all of them; null = majority.' }),
    reward_wei: Type.String({ pattern: '^(0|[1-9][0-9]*)$', maxLength: 78, description: 'Reward per replica in wei (a string: wei amounts exceed 2^53).' }),
  } satisfies Record<(typeof manifestFieldNames)[number], unknown>
  return { fields, arg, envName, envValue, outputPattern, gpu, maxVramGb }
}

/** An operator may lower a maximum below the usual default; the default follows it down. */
export function resolveManifestLimits(overrides: Partial<ManifestLimits> | undefined): ManifestLimits {
  const limits = { ...defaultManifestLimits }
  for (const [key, value] of Object.entries(overrides ?? {}))
    if (value !== undefined) limits[key as keyof ManifestLimits] = value
  return limits
}

const defaultParts = buildParts(defaultManifestLimits)

/** The parts for these limits (the usual ones are built once: every submission reads them). */
export function manifestSchemaParts(options: ParseManifestOptions = {}): ManifestSchemaParts {
  return options.limits === undefined ? defaultParts : buildParts(resolveManifestLimits(options.limits))
}

/**
 * The manifest as a JSON Schema (draft 2020-12) for the gateway's OpenAPI docs. Every optional field
 * may also be null, which means the same as leaving it out.
 */
export function manifestJsonSchema(options: ParseManifestOptions = {}): TObject {
  const { fields } = manifestSchemaParts(options)
  const { entrypoint, ...optional } = fields
  const properties = Object.fromEntries(Object.entries(optional).map(([name, schema]) => [name, Type.Optional(nullable(schema))]))
  return Type.Object({ entrypoint, ...properties }, { additionalProperties: false, $id: 'Manifest', description: 'A job manifest (docs/manifest.md).' })
}

/** The schema, also accepting null: `type: [..., "null"]` keeps its limits where a reader looks. */
function nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  const { type, enum: values } = schema
  if (Array.isArray(values)) return Type.Unsafe({ ...schema, enum: [...values, null] })
  return Type.Unsafe({ ...schema, type: [type, 'null'] })
}
