// What every route needs: the backend that runs jobs, the resolved options and the rate limiter.
import type { JobBackend } from '../backends/jobBackend.ts'
import type { GatewayOptions } from './config.ts'
import type { RateLimiter } from './rateLimiter.ts'

export type GatewayContext = {
  backend: JobBackend
  options: GatewayOptions
  limiter: RateLimiter
}
