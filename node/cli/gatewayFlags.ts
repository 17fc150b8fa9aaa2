// The HTTP and per-IP limit flags every gateway command shares (`serve`, `gateway --mode ...`),
// parsed into GatewayOptions in one place.
import { resolveGatewayOptions, type GatewayOptions } from '../gateway/config.ts'

export const gatewayFlagOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
  'trust-proxy': { type: 'string' },
  'cpu-seconds-per-minute': { type: 'string' },
  'concurrent-jobs': { type: 'string' },
  'jobs-per-hour': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-address': { type: 'string' },
} as const

export type GatewayFlagValues = { [K in keyof typeof gatewayFlagOptions]?: string | undefined }

export const numberFlag = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value))

/** Keeps only the fields that were given, so the defaults of resolveGatewayOptions apply to the rest. */
export const definedFields = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>

/** Validated gateway options from the flags (throws the config's error for bad values). */
export function gatewayOptionsFromFlags(values: GatewayFlagValues): GatewayOptions {
  return resolveGatewayOptions(
    definedFields({
      port: numberFlag(values.port),
      host: values.host,
      trustProxy: values['trust-proxy'] ? values['trust-proxy'].split(',').map((s) => s.trim()) : undefined,
      maxConnections: numberFlag(values['max-connections']),
      maxConnectionsPerAddress: numberFlag(values['max-connections-per-address']),
      rateLimits: definedFields({
        cpuSecondsPerMinute: numberFlag(values['cpu-seconds-per-minute']),
        concurrentJobs: numberFlag(values['concurrent-jobs']),
        jobsPerHour: numberFlag(values['jobs-per-hour']),
      }),
    }),
  )
}
