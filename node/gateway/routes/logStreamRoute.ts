// WS /logs/:id/stream: replays the output written so far, streams new output as the job writes
// it, then sends the final status and closes. Messages are JSON text frames:
//   {"type":"output","stream":"stdout"|"stderr","data":"..."}  and  {"type":"end","status":{...}}
// and, when something is cut, {"type":"truncated","stream":...,"cap_bytes":N} (the stream reached
// the cap; none of it follows) or {"type":"gap","dropped_bytes":N} (output was lost on the way).
// Each viewer is sent data as fast as it reads (createLogViewers.ts); one that stops reading is
// disconnected (close code 1013). The job never waits for viewers. One address may hold a few
// viewers at once (429 beyond).
import type { FastifyInstance } from 'fastify'
import type { Static } from '@sinclair/typebox'
import type { WebSocket } from 'ws'
import { isFinalState, type JobEvent, type JobLogEntry, type JobStatus } from '../../backends/jobBackend.ts'
import { createLogViewers, type LogViewer } from '../createLogViewers.ts'
import type { GatewayContext } from '../gatewayContext.ts'
import { statusBody } from '../statusBody.ts'
import { ErrorBody, JobIdParams, RateLimitedBody } from '../schemas.ts'
import { requestJobId } from '../requestJobId.ts'

const isFinal = (status: JobStatus): boolean => isFinalState(status.status)

function sendEntry(viewer: LogViewer, entry: JobLogEntry): void {
  if (entry.type === 'output') viewer.output(entry.stream, entry.data)
  else if (entry.type === 'truncated') viewer.notice({ type: 'truncated', stream: entry.stream, cap_bytes: entry.capBytes })
  else viewer.notice({ type: 'gap', dropped_bytes: entry.droppedBytes })
}

export function logStreamRoute(app: FastifyInstance, { backend, options, viewers: slots }: GatewayContext): void {
  const viewers = createLogViewers({
    windowBytes: options.logViewerMaxBufferedBytes,
    budgetBytes: options.logViewersMaxBufferedBytes,
    stallMs: options.logViewerStallMs,
  })
  app.addHook('onClose', async () => viewers.close())

  app.get<{ Params: Static<typeof JobIdParams> }>(
    '/logs/:id/stream',
    {
      websocket: true,
      schema: {
        summary: 'WebSocket: live output of a job, then its final status',
        params: JobIdParams,
        response: { 101: { description: 'Switching to WebSocket', type: 'null' }, 400: ErrorBody, 404: ErrorBody, 429: RateLimitedBody, 500: ErrorBody },
      },
      // Unknown jobs are answered with a plain 404, too many viewers from one address with a 429,
      // before the upgrade. The slot is the connection's until it closes.
      preValidation: async (request) => {
        backend.status(requestJobId(request))
        slots.hold(request, request.raw.socket)
      },
    },
    (socket: WebSocket, request) => {
      const viewer = viewers.open(socket)
      let watch: ReturnType<typeof backend.watch>
      try {
        watch = backend.watch(requestJobId(request), (event: JobEvent) => {
          if (event.type !== 'status') sendEntry(viewer, event)
          else if (isFinal(event.status)) viewer.end(statusBody(event.status))
        })
      } catch {
        // Deleted between the check and the upgrade.
        socket.close(1011, 'job not found')
        return
      }
      socket.once('close', () => watch.unsubscribe())
      for (const entry of watch.replay) sendEntry(viewer, entry)
      if (isFinal(watch.status)) viewer.end(statusBody(watch.status))
    },
  )
}
