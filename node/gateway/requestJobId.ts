// Where a job id from outside enters the gateway: every route that names a job (`/status/:id`,
// `/logs/:id`, `/download/:id`, `/verify/:id`, ...) reads it here, so the backends only ever see a
// GatewayJobId. The schema has already capped its length; an unknown id is the lookup's 404.
import { gatewayJobId, type GatewayJobId } from '../../verifier/index.ts'

/** The job id a request's path names. */
export function requestJobId(request: { params: { id: string } }): GatewayJobId {
  return gatewayJobId(request.params.id)
}
