import { describe, expect, it } from 'vitest'
import { createRateLimiter } from './rateLimiter.ts'

function setup(limits = { cpuSecondsPerMinute: 10, concurrentJobs: 2, jobsPerHour: 3 }) {
  const clock = { now: 1_000_000 }
  const active = new Map<string, number>()
  const limiter = createRateLimiter(limits, { activeJobsOf: (id) => active.get(id) ?? 0, now: () => clock.now })
  return { limiter, clock, active }
}

describe('rate limiter', () => {
  it('counts submissions in flight against the concurrency limit, so parallel uploads cannot slip past it', () => {
    const { limiter } = setup()
    expect(limiter.reserve('a').allowed).toBe(true)
    expect(limiter.reserve('a').allowed).toBe(true)
    expect(limiter.reserve('a')).toMatchObject({ allowed: false, reason: expect.stringMatching(/concurrent/) })
    limiter.release('a')
    expect(limiter.reserve('a').allowed).toBe(true)
    expect(limiter.reserve('b').allowed).toBe(true)
  })

  it('tells how long until the oldest job leaves the hourly window', () => {
    const { limiter, clock } = setup()
    for (let i = 0; i < 3; i++) {
      limiter.reserve('a')
      limiter.commit('a')
      clock.now += 60_000
    }
    // Oldest submission was 3 minutes ago: it frees up in 57 minutes.
    expect(limiter.reserve('a')).toEqual({ allowed: false, reason: expect.stringMatching(/Hourly/), retryAfterSeconds: 57 * 60 })
    clock.now += 57 * 60_000
    expect(limiter.reserve('a').allowed).toBe(true)
  })

  it('refuses once the CPU seconds of the rolling minute are used, until enough of them age out', () => {
    const { limiter, clock } = setup()
    limiter.chargeCpu('a', 6)
    clock.now += 20_000
    limiter.chargeCpu('a', 5)
    clock.now += 10_000
    expect(limiter.reserve('a')).toEqual({ allowed: false, reason: expect.stringMatching(/CPU quota exhausted \(11\.0\/10\.0/), retryAfterSeconds: 30 })
    expect(limiter.quota('a')).toMatchObject({ used: 11, available: 0, can_submit: false, retry_after: 30 })
    clock.now += 30_000
    expect(limiter.reserve('a').allowed).toBe(true)
    expect(limiter.quota('a')).toMatchObject({ used: 5, available: 5, retry_after: 0 })
  })

  it('counts jobs the backend still holds as active', () => {
    const { limiter, active } = setup()
    active.set('a', 2)
    expect(limiter.reserve('a').allowed).toBe(false)
    expect(limiter.quota('a')).toMatchObject({ active_jobs: 2, can_submit: false })
  })
})
