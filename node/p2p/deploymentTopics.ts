// Gossip topic names, one set per market deployment (chain id + contract address), so networks of
// different chains or contract versions never see each other's messages.
export type Deployment = {
  chainId: number
  /** The market contract address (0x + 40 hex, any case). */
  market: string
}

export function jobsTopic({ chainId, market }: Deployment): string {
  return `sandrun/${chainId}/${market.toLowerCase()}/jobs`
}

export function workersTopic({ chainId, market }: Deployment): string {
  return `sandrun/${chainId}/${market.toLowerCase()}/workers`
}
