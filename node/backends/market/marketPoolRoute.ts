// GET /pool in market mode: the workers this gateway has heard from on the network, with their
// stake read from the chain. The market backend's own route, as a fastify plugin the gateway
// registers (JobBackend.routes); other modes have their own GET /pool or none.
import type { FastifyPluginAsync } from 'fastify'
import { ErrorBody, PoolResponse } from '../../gateway/schemas.ts'
import type { PoolWorker } from '../jobBackend.ts'

export function marketPoolRoute(pool: () => Promise<PoolWorker[]>): FastifyPluginAsync {
  return async (app) => {
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
}
