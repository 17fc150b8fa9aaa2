// The gateway's job id: what POST /submit hands out and every REST route takes (`job-` + 32 hex
// digits). It names a job at the gateway that issued it and nowhere else: never the market's
// on-chain id (chainJobId.ts) nor the spec hash (specHash.ts), which the types keep apart.
declare const kind: unique symbol

export type GatewayJobId = string & { readonly [kind]: 'GatewayJobId' }

/**
 * The id as the gateway issued it, a request's path names it or a receipt recorded it. Unchecked:
 * an id the gateway does not know is a 404 from the lookup, not a different kind of value.
 */
export function gatewayJobId(value: string): GatewayJobId {
  return value as GatewayJobId
}
