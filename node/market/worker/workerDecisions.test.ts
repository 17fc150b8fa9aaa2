// Which announced job a worker takes and what it does next with a committed one: the rules that
// keep it from wasting a run on a job it cannot commit to, and from revealing or finalizing early.
import { describe, expect, it } from 'vitest'
import { decideJob, nextStep, type DecideJobParameters, type NextStepParameters } from './decideJob.ts'

const spec = `0x${'ab'.repeat(32)}`
const offer = (patch: Partial<DecideJobParameters> = {}, job: Partial<DecideJobParameters['job']> = {}): DecideJobParameters => ({
  job: { status: 'Open', specHash: spec as `0x${string}`, replicas: 3, committed: 1, commitDeadline: 1100, collateral: 10n, ...job },
  announcedSpecHash: spec,
  now: 1000,
  running: 0,
  maxJobs: 2,
  freeStake: 10n,
  known: false,
  minCommitTimeLeft: 3,
  ...patch,
})

describe('decideJob', () => {
  it('takes an open job it has room, stake and time for', () => {
    expect(decideJob(offer())).toEqual({ take: true })
  })

  it.each([
    ['already taken', offer({ known: true })],
    ['job is Finalized', offer({}, { status: 'Finalized' })],
    ['announced spec hash differs from the chain', offer({ announcedSpecHash: `0x${'cd'.repeat(32)}` })],
    ['every slot is committed', offer({}, { committed: 3 })],
    ['commit window closes too soon', offer({ now: 1098 })],
    ['at capacity', offer({ running: 2 })],
    ['not enough free stake for the collateral', offer({ freeStake: 9n })],
  ])('skips a job when %s', (reason, parameters) => {
    expect(decideJob(parameters)).toEqual({ take: false, reason })
  })
})

const committed = (patch: Partial<NextStepParameters> = {}, job: Partial<NextStepParameters['job']> = {}): NextStepParameters => ({
  job: { status: 'Open', replicas: 3, committed: 2, revealed: 0, commitDeadline: 1100, revealDeadline: 1200, ...job },
  revealed: false,
  mayReveal: true,
  now: 1000,
  ...patch,
})

describe('nextStep', () => {
  it('waits while other slots may still commit', () => {
    expect(nextStep(committed())).toBe('wait')
  })
  it('reveals once every slot is committed, or once the commit window closed', () => {
    expect(nextStep(committed({}, { committed: 3 }))).toBe('reveal')
    expect(nextStep(committed({ now: 1101 }))).toBe('reveal')
  })
  it('finalizes when every committed slot revealed, or after the reveal window', () => {
    expect(nextStep(committed({ revealed: true }, { committed: 3, revealed: 2 }))).toBe('wait')
    expect(nextStep(committed({ revealed: true }, { committed: 3, revealed: 3 }))).toBe('finalize')
    expect(nextStep(committed({ now: 1201 }))).toBe('finalize')
  })
  it('a no-reveal worker never reveals but may still finalize after the deadline', () => {
    expect(nextStep(committed({ mayReveal: false }, { committed: 3 }))).toBe('wait')
    expect(nextStep(committed({ mayReveal: false, now: 1201 }, { committed: 3 }))).toBe('finalize')
  })
  it('stops once the job left the Open state', () => {
    expect(nextStep(committed({}, { status: 'Inconclusive' }))).toBe('settled')
  })
})
