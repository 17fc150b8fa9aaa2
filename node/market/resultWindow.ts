// How long a worker keeps a settled job's (sealed) result for its requester. Gateways fetch well
// within it (defaultMarketBackendOptions.resultDeadlineMs is half of it); docs/network.md states it.
export const resultWindowMs = 10 * 60_000
