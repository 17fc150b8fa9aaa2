// What a host probe answers: the host can do the thing, or it cannot at all (with the reason a
// skipped test shows). A probe that cannot tell throws instead, so the test fails and says why:
// a host that cannot be checked is reported, never passed.
import type { TestContext } from 'vitest'

export type HostSupport = { supported: true } | { supported: false; reason: string }

/** Skips the running test with the probe's reason when the host lacks what it needs. */
export function requireHost(context: Pick<TestContext, 'skip'>, support: HostSupport): void {
  if (!support.supported) context.skip(support.reason)
}
