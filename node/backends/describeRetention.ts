// The retention rule in words, from the backend's own settings, for the privacy statement that
// GET / and the web page show (so the text stays true when an operator changes the durations).

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  if (minutes >= 60 && minutes % 60 === 0) return minutes === 60 ? '1 hour' : `${minutes / 60} hours`
  if (minutes >= 1) return minutes === 1 ? '1 minute' : `${minutes} minutes`
  return `${Math.round(ms / 1000)} seconds`
}

export function describeRetention({ retentionMaxMs, retentionAfterFailureMs }: { retentionMaxMs: number; retentionAfterFailureMs: number }): string {
  return `deleted right after all its outputs are downloaded, ${duration(retentionAfterFailureMs)} after a failure, and ${duration(retentionMaxMs)} after submission at the latest`
}
