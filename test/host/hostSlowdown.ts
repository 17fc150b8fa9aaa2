// How many times slower than a real machine this host runs the tests: 1, or what SANDRUN_TEST_SLOWDOWN
// says (the test VM sets it: an emulated CPU, `npm run test:vm`). Tests multiply the job timeouts
// and CPU-time bounds they set by it, so a slow host runs the same checks at its own pace; nothing
// else changes.
export function hostSlowdown(): number {
  const value = Number(process.env.SANDRUN_TEST_SLOWDOWN ?? 1)
  if (!Number.isFinite(value) || value < 1) throw new Error(`SANDRUN_TEST_SLOWDOWN must be a number >= 1, not "${process.env.SANDRUN_TEST_SLOWDOWN}".`)
  return value
}
