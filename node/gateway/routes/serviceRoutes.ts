// Service-level routes: GET / (what this is), /stats (your quota + system), /environments
// (templates with installed state and digests, interpreters this host really has) and /health
// (isolation, GPUs and package indexes, for pool coordinators and probes).
import type { FastifyInstance } from 'fastify'
import { clientAddressKey } from '../clientAddressKey.ts'
import { createEventLoopMonitor } from '../createEventLoopMonitor.ts'
import type { GatewayContext } from '../gatewayContext.ts'
import { EnvironmentsResponse, ErrorBody, HealthResponse, RootResponse, StatsResponse } from '../schemas.ts'

export function serviceRoutes(app: FastifyInstance, { backend, limiter, options }: GatewayContext): void {
  const limits = options.rateLimits
  const eventLoop = createEventLoopMonitor()
  app.addHook('onClose', async () => eventLoop.close())
  // From the first turn after the service listens: the turn that starts it, and all before, served no one.
  app.addHook('onListen', (done) => {
    setTimeout(() => eventLoop.restart(), 0).unref()
    done()
  })
  app.get('/', { schema: { summary: 'Service information', response: { 200: RootResponse, 500: ErrorBody } } }, async () => ({
    service: 'sandrun' as const,
    status: 'running' as const,
    mode: backend.mode,
    description: 'Anonymous, ephemeral, sandboxed batch job execution. POST a tar.gz and a JSON manifest to /submit.',
    privacy: backend.privacy(),
    limits: `${limits.cpuSecondsPerMinute} CPU-sec/min, ${limits.concurrentJobs} concurrent jobs, ${limits.jobsPerHour} jobs/hour per IP; uploads up to ${Math.floor(options.maxUploadBytes / 1024 / 1024)} MB`,
    docs: '/docs',
  }))

  app.get('/stats', { schema: { summary: 'Your quota and system load', response: { 200: StatsResponse, 500: ErrorBody } } }, async (request) => {
    const stats = backend.stats()
    const delay = eventLoop.delay()
    return {
      your_quota: limiter.quota(clientAddressKey(request.ip)),
      system: {
        queue_length: stats.queueLength,
        active_jobs: stats.runningJobs,
        parallelism: stats.parallelism,
        jobs_total: stats.jobsTotal,
        completed_total: stats.completedTotal,
        failed_total: stats.failedTotal,
        retained_jobs: stats.retainedJobs,
        event_loop_delay_ms: { p99: delay.p99Ms, max: delay.maxMs, max_running: delay.maxRunningMs, max_waiting_for_cpu: delay.maxWaitingForCpuMs },
      },
    }
  })

  app.get('/environments', { schema: { summary: 'Environment templates and interpreters available here', response: { 200: EnvironmentsResponse, 500: ErrorBody } } }, async () =>
    backend.environments(),
  )

  app.get('/health', { schema: { summary: 'Health and worker identity', response: { 200: HealthResponse, 503: HealthResponse, 500: ErrorBody } } }, async (_request, reply) => {
    const health = backend.health()
    return reply.code(health.healthy ? 200 : 503).send({
      status: health.healthy ? 'healthy' : 'unhealthy',
      worker_id: health.workerId,
      mode: health.mode,
      isolation: health.isolation,
      isolation_note: health.isolationNote,
      gpus: health.gpus.map((gpu) => ({
        index: gpu.index,
        name: gpu.name,
        memory_mib: gpu.memoryMiB,
        driver_version: gpu.driverVersion,
        compute_capability: gpu.computeCapability,
        cuda_version: gpu.cudaVersion,
      })),
      gpu_note: health.gpuNote,
      package_indexes: health.packageIndexes,
      ...(health.p2p ? { p2p: { peer_id: health.p2p.peerId, multiaddrs: health.p2p.multiaddrs } } : {}),
      ...(health.chain ? { chain: { chain_id: health.chain.chainId, market: health.chain.market, rpc_url: health.chain.rpcUrl } } : {}),
    })
  })
}
