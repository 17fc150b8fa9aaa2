// GET /pool: the workers this gateway has heard from on the network (market mode), with their
// stake read from the chain. Registered only for backends with a pool (market mode); elsewhere
// the route does not exist and the usual JSON 404 answers.
import type { FastifyInstance } from 'fastify'
import type { GatewayContext } from '../gatewayContext.ts'
import { ErrorBody, PoolResponse } from '../schemas.ts'

export function poolRoute(app: FastifyInstance, { backend }: GatewayContext): void {
  const pool = backend.pool?.bind(backend)
  if (!pool) return
  app.get('/pool', { schema: { summary: 'Workers seen on the network (market mode)', response: { 200: PoolResponse, 500: ErrorBody } } }, async () => {
    const workers = await pool()
    return {
      workers: workers.map((w) => ({
        peer_id: w.peerId,
        address: w.address,
        stake_wei: w.stakeWei,
        free_stake_wei: w.freeStakeWei,
        capabilities: { interpreters: w.capabilities.interpreters, gpu: w.capabilities.gpu, max_jobs: w.capabilities.maxJobs },
        environments: w.environments,
        load: { running: w.load.running },
        ask: w.ask ? { min_profit_wei: w.ask.minProfitWei, min_reward_wei: w.ask.minRewardWei } : null,
        last_seen: new Date(w.lastSeen).toISOString(),
      })),
    }
  })
}
