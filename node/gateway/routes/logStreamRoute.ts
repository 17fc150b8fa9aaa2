// WS /logs/:id/stream: replays the output written so far, streams new output as the job writes
// it, then sends the final status and closes. Messages are JSON text frames:
//   {"type":"output","stream":"stdout"|"stderr","data":"..."}  and  {"type":"end","status":{...}}
// and, when something is cut, {"type":"truncated","stream":...,"cap_bytes":N} (the stream reached
// the cap; none of it follows) or {"type":"gap","dropped_bytes":N} (output was lost on the way).
// A viewer too slow to keep up is disconnected (close code 1013); the job never waits for viewers.
import type { FastifyInstance } from 'fastify'
import type { Static } from '@sinclair/typebox'
import type { WebSocket } from 'ws'
import type { JobEvent, JobLogEntry } from '../../backends/jobBackend.ts'
import type { GatewayContext } from '../gatewayContext.ts'
import { statusBody } from '../statusBody.ts'
import { ErrorBody, JobIdParams } from '../schemas.ts'

function logMessage(entry: JobLogEntry): Record<string, unknown> {
  if (entry.type === 'output') return { type: 'output', stream: entry.stream, data: entry.data.toString('utf8') }
  if (entry.type === 'truncated') return { type: 'truncated', stream: entry.stream, cap_bytes: entry.capBytes }
  return { type: 'gap', dropped_bytes: entry.droppedBytes }
}

export function logStreamRoute(app: FastifyInstance, { backend, options }: GatewayContext): void {
  app.get<{ Params: Static<typeof JobIdParams> }>(
    '/logs/:id/stream',
    {
      websocket: true,
      schema: {
        summary: 'WebSocket: live output of a job, then its final status',
        params: JobIdParams,
        response: { 101: { description: 'Switching to WebSocket', type: 'null' }, 400: ErrorBody, 404: ErrorBody, 500: ErrorBody },
      },
      // Unknown jobs are answered with a plain 404 before the upgrade.
      preValidation: async (request) => {
        backend.status(request.params.id)
      },
    },
    (socket: WebSocket, request) => {
      let closed = false
      const send = (message: unknown): void => {
        if (closed) return
        if (socket.bufferedAmount > options.logViewerMaxBufferedBytes) {
          closed = true
          socket.close(1013, 'viewer too slow; reconnect to replay')
          return
        }
        socket.send(JSON.stringify(message))
      }
      const end = (status: Parameters<typeof statusBody>[0]): void => {
        send({ type: 'end', status: statusBody(status) })
        if (!closed) socket.close(1000, 'job finished')
        closed = true
      }
      let watch: ReturnType<typeof backend.watch>
      try {
        watch = backend.watch(request.params.id, (event: JobEvent) => {
          if (event.type !== 'status') send(logMessage(event))
          else if (event.status.status === 'completed' || event.status.status === 'failed') end(event.status)
        })
      } catch {
        // Deleted between the check and the upgrade.
        socket.close(1011, 'job not found')
        return
      }
      socket.once('close', () => {
        closed = true
        watch.unsubscribe()
      })
      for (const entry of watch.replay) send(logMessage(entry))
      if (watch.status.status === 'completed' || watch.status.status === 'failed') end(watch.status)
    },
  )
}
