// The default quorum of a market job: a strict majority of its replicas. The manifest checks a
// quorum against it, the gateway reports it, the chain client posts it and the contract enforces it
// (MarketInvalidQuorum); this is the one place it is computed.

/** The smallest number of agreeing replicas that is more than half of `replicas`. */
export function majorityQuorum(replicas: number): number {
  return Math.floor(replicas / 2) + 1
}
