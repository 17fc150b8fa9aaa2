// Validates a submitted job manifest (already JSON-parsed) and fills in every default. The result
// is the normalized Manifest that the spec hash covers, so every check here is deterministic and
// every refusal tells the submitter which field to fix and what is allowed.
import picomatch from 'picomatch'
import { SandboxError } from './errors.ts'
import type { GpuRequirement, InterpreterName, Manifest } from './types.ts'

import { forbiddenEnvNames, forbiddenEnvPrefixes, isForbiddenEnvName } from './forbiddenEnvNames.ts'
import { majorityQuorum } from './majorityQuorum.ts'
import {
  interpreterByExtension,
  interpreterNames,
  manifestFieldNames,
  manifestSchemaParts,
  type ManifestSchemaParts,
  type ParseManifestOptions,
} from './manifestSchema.ts'

const maxUint256 = (1n << 256n) - 1n

/**
 * Optional fields may be absent or `null` (both mean the default). Throws SandboxError with code
 * MANIFEST_INVALID (shape, type, range), INTERPRETER_UNKNOWN or ENV_FORBIDDEN. Whether the
 * entrypoint exists in the bundle and the environment on the host is checked elsewhere. Every
 * limit, pattern and default comes from the schema (manifestSchema.ts).
 */
export function parseManifest(input: unknown, options: ParseManifestOptions = {}): Manifest {
  const parts = manifestSchemaParts(options)
  const { fields } = parts
  if (!isPlainObject(input))
    throw invalid(`The manifest must be a JSON object; got ${describe(input)}.`, 'Send e.g. {"entrypoint": "main.py"}.')
  for (const key of Object.keys(input))
    if (!(manifestFieldNames as readonly string[]).includes(key))
      throw invalid(`Unknown manifest field ${JSON.stringify(key)}.`, `Allowed fields: ${manifestFieldNames.join(', ')}.`)

  const field = (name: (typeof manifestFieldNames)[number]): unknown => input[name] ?? undefined

  const entrypointValue = field('entrypoint')
  if (entrypointValue === undefined)
    throw invalid('The manifest field "entrypoint" is required.', 'Name the file to run, e.g. "main.py".')
  const entrypoint = relativePath('entrypoint', entrypointValue, fields.entrypoint)
  const replicas = integer('replicas', field('replicas'), fields.replicas)

  return {
    entrypoint,
    interpreter: interpreter(field('interpreter'), entrypoint),
    environment: environmentName(field('environment'), fields.environment),
    args: args(field('args'), parts),
    env: env(field('env'), parts),
    outputs: outputs(field('outputs'), parts),
    requirements: field('requirements') === undefined ? null : relativePath('requirements', field('requirements'), fields.requirements),
    timeout: integer('timeout', field('timeout'), fields.timeout, 'seconds'),
    memory_mb: integer('memory_mb', field('memory_mb'), fields.memory_mb, 'MB'),
    cpu_seconds: integer('cpu_seconds', field('cpu_seconds'), fields.cpu_seconds, 'seconds'),
    gpu: gpu(field('gpu'), parts),
    replicas,
    quorum: quorum(field('quorum'), replicas),
    reward_wei: rewardWei(field('reward_wei'), fields.reward_wei),
  }
}

type Bounded = { minimum?: number; maximum?: number; default?: number }
type StringRule = { minLength?: number; maxLength?: number; pattern?: string }

/** A string schema's pattern as a RegExp (schemas are built once, so this compiles each pattern once). */
const compiled = new WeakMap<object, RegExp>()
function matches(schema: StringRule & object, value: string): boolean {
  if (schema.pattern === undefined) return true
  let pattern = compiled.get(schema)
  if (pattern === undefined) {
    pattern = new RegExp(schema.pattern)
    compiled.set(schema, pattern)
  }
  return pattern.test(value)
}

function relativePath(name: string, value: unknown, schema: StringRule): string {
  const maxPathLength = schema.maxLength ?? Infinity
  if (typeof value !== 'string') throw wrongType(name, 'a string (a path relative to /work)', value)
  if (value.length < (schema.minLength ?? 0) || value.length > maxPathLength)
    throw invalid(`The manifest field "${name}" must be ${schema.minLength} to ${maxPathLength} characters long; got ${value.length}.`)
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

function environmentName(value: unknown, schema: StringRule & object): string {
  if (value === undefined) return 'default'
  if (typeof value !== 'string') throw wrongType('environment', 'a string (an environment template name)', value)
  if (!matches(schema, value))
    throw invalid(
      `The manifest field "environment" is not a valid template name; got ${JSON.stringify(value.slice(0, 80))}.`,
      'Use letters, digits, ".", "_" and "-" (at most 64); GET /environments lists them.',
    )
  return value
}

function args(value: unknown, { fields, arg: argSchema }: ManifestSchemaParts): string[] {
  if (value === undefined) return []
  const maxArgs = fields.args.maxItems ?? Infinity
  const maxArgLength = argSchema.maxLength ?? Infinity
  if (!Array.isArray(value)) throw wrongType('args', 'an array of strings', value)
  if (value.length > maxArgs) throw invalid(`The manifest field "args" has ${value.length} items; at most ${maxArgs} are allowed.`)
  return value.map((arg, index) => {
    if (typeof arg !== 'string') throw wrongType(`args[${index}]`, 'a string', arg)
    if (arg.length > maxArgLength)
      throw invalid(`The manifest field "args[${index}]" is ${arg.length} characters long; at most ${maxArgLength} are allowed.`)
    if (arg.includes('\0')) throw invalid(`The manifest field "args[${index}]" contains a NUL character.`)
    return arg
  })
}

function env(value: unknown, { fields, envName, envValue }: ManifestSchemaParts): Record<string, string> {
  if (value === undefined) return {}
  const maxEntries = fields.env.maxProperties ?? Infinity
  const maxValueLength = envValue.maxLength ?? Infinity
  if (!isPlainObject(value)) throw wrongType('env', 'an object of string values', value)
  const names = Object.keys(value).sort()
  if (names.length > maxEntries) throw invalid(`The manifest field "env" has ${names.length} entries; at most ${maxEntries} are allowed.`)
  const entries: [string, string][] = []
  for (const name of names) {
    if (!matches(envName, name))
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
    if (entry.length > maxValueLength)
      throw invalid(`The value of env.${name} is ${entry.length} characters long; at most ${maxValueLength} are allowed.`)
    if (entry.includes('\0')) throw invalid(`The value of env.${name} contains a NUL character.`)
    entries.push([name, entry])
  }
  // fromEntries defines own properties, so even a variable named __proto__ is kept, not swallowed.
  return Object.fromEntries(entries)
}

function outputs(value: unknown, { fields, outputPattern }: ManifestSchemaParts): string[] {
  if (value === undefined) return []
  const maxPatterns = fields.outputs.maxItems ?? Infinity
  const maxPatternLength = outputPattern.maxLength ?? Infinity
  if (!Array.isArray(value)) throw wrongType('outputs', 'an array of glob patterns', value)
  if (value.length > maxPatterns)
    throw invalid(`The manifest field "outputs" has ${value.length} patterns; at most ${maxPatterns} are allowed.`)
  return value.map((pattern, index) => {
    const name = `outputs[${index}]`
    if (typeof pattern !== 'string') throw wrongType(name, 'a string (a glob pattern)', pattern)
    // Patterns match paths relative to /work, which never start with "./".
    const normalized = pattern.replace(/^(\.\/)+/, '')
    if (normalized.length < (outputPattern.minLength ?? 0) || normalized.length > maxPatternLength)
      throw invalid(`The manifest field "${name}" must be ${outputPattern.minLength} to ${maxPatternLength} characters long.`)
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

/** An integer within the schema's range; absent means the schema's default. */
function integer(name: string, value: unknown, schema: Bounded, unit?: string): number {
  const { minimum: min = -Infinity, maximum: max = Infinity } = schema
  if (value === undefined && schema.default !== undefined) return schema.default
  const range = `from ${min} to ${max}${unit ? ` (${unit})` : ''}`
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(name, `an integer ${range}`, value)
  if (value < min || value > max) throw invalid(`The manifest field "${name}" must be ${range}; got ${value}.`)
  return value
}

function gpu(value: unknown, { gpu: schema }: ManifestSchemaParts): GpuRequirement | null {
  if (value === undefined) return null
  const fieldNames = Object.keys(schema)
  if (!isPlainObject(value)) throw wrongType('gpu', 'an object like {"required": true} or null', value)
  for (const key of Object.keys(value))
    if (!fieldNames.includes(key))
      throw invalid(`Unknown field ${JSON.stringify(key)} in "gpu".`, `Allowed fields: ${fieldNames.join(', ')}.`)
  if (typeof value.required !== 'boolean') throw wrongType('gpu.required', 'a boolean', value.required)
  const result: GpuRequirement = { required: value.required }
  const vram = value.min_vram_gb ?? undefined
  if (vram !== undefined) {
    const { exclusiveMinimum: above = 0, maximum: max = Infinity } = schema.min_vram_gb
    if (typeof vram !== 'number' || !Number.isFinite(vram) || vram <= above || vram > max)
      throw wrongType('gpu.min_vram_gb', `a number of GiB above ${above} (at most ${max})`, vram)
    result.min_vram_gb = vram
  }
  const cuda = value.cuda_version ?? undefined
  if (cuda !== undefined) {
    if (typeof cuda !== 'string' || !matches(schema.cuda_version, cuda)) throw wrongType('gpu.cuda_version', 'a version string like "12.2"', cuda)
    result.cuda_version = cuda
  }
  const capability = value.compute_capability ?? undefined
  if (capability !== undefined) {
    if (typeof capability !== 'string' || !matches(schema.compute_capability, capability))
      throw wrongType('gpu.compute_capability', 'a string like "8.0"', capability)
    result.compute_capability = capability
  }
  return result
}

/** The schema allows 1 to maxReplicas; here the range follows the job's own replicas. */
function quorum(value: unknown, replicas: number): number | null {
  if (value === undefined) return null
  const majority = majorityQuorum(replicas)
  const range = `from ${majority} (a majority of ${replicas} replicas) to ${replicas}, or null for a majority`
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType('quorum', `an integer ${range}`, value)
  if (value < majority || value > replicas) throw invalid(`The manifest field "quorum" must be ${range}; got ${value}.`)
  return value
}

function rewardWei(value: unknown, schema: StringRule & object): string | null {
  if (value === undefined) return null
  // A string, not a number: wei amounts exceed 2^53 and would silently lose precision in JSON.
  if (typeof value !== 'string' || !matches(schema, value))
    throw wrongType('reward_wei', 'a decimal string of wei like "1000000000000000"', value)
  if (value.length > (schema.maxLength ?? Infinity) || BigInt(value) > maxUint256) throw invalid('The manifest field "reward_wei" exceeds 2^256 - 1.')
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
