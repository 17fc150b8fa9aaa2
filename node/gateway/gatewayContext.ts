// What every route needs: the backend that runs jobs, the resolved options, the rate limiter and
// the per-address slots for reads of logs and outputs and for live log viewers.
import type { JobBackend } from '../backends/jobBackend.ts'
import type { AddressSlots } from './addressSlots.ts'
import type { GatewayOptions } from './config.ts'
import type { RateLimiter } from './rateLimiter.ts'

export type GatewayContext = {
  backend: JobBackend
  options: GatewayOptions
  limiter: RateLimiter
  /** GET /logs and /download in progress, per address. */
  reads: AddressSlots
  /** WebSocket log viewers, per address. */
  viewers: AddressSlots
}
