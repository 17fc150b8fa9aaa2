// Which announced job a worker takes and what it does next with a committed one: the rules that
// keep it from running a round it is not drawn for, from wasting a run on a job it cannot commit
// to, and from revealing or closing a round early.
import { describe, expect, it } from 'vitest'
import { decideJob, nextStep, type DecideJobParameters, type NextStepParameters } from './decideJob.ts'
import type { RoundEligibility } from './roundEligibility.ts'

const drawn = (patch: Partial<Extract<RoundEligibility, { drawn: true }>> = {}): RoundEligibility => ({ drawn: true, drawnAt: 990, commitFrom: 1010, drawnBefore: 2, ...patch })

const offer = (patch: Partial<DecideJobParameters> = {}, job: Partial<DecideJobParameters['job']> = {}): DecideJobParameters => ({
  job: { status: 'Open', roundSlots: 3, committed: 1, commitDeadline: 1100, collateral: 10n, reward: 1000n, ...job },
  eligibility: drawn(),
  now: 1000,
  running: 0,
  maxJobs: 2,
  freeStake: 10n,
  known: false,
  minCommitTimeLeft: 3,
  gasCost: 400n,
  minProfitWei: 100n,
  ...patch,
})

describe('decideJob', () => {
  it('takes an open job it is drawn for and has room, stake and time for, and commits from its commit time', () => {
    expect(decideJob(offer())).toEqual({ take: true, commitFrom: 1010 })
    expect(decideJob(offer({}, { status: 'Escalated', roundSlots: 9 }))).toEqual({ take: true, commitFrom: 1010 })
  })

  it('takes a job whose reward covers its gas at the current fee plus the price floor, exactly or more', () => {
    expect(decideJob(offer({ gasCost: 900n }))).toEqual({ take: true, commitFrom: 1010 })
    expect(decideJob(offer({ gasCost: 901n })).take).toBe(false)
  })

  it('a worker drawn late runs the job only once it may commit and a slot is still free', () => {
    const late = drawn({ drawnBefore: 4 }) // more than 1.25 x 3 slots expected to be drawn before it
    expect(decideJob(offer({ eligibility: late }))).toEqual({ take: false, reason: 'drawn late: waiting for a slot to stay free' })
    expect(decideJob(offer({ eligibility: late, now: 1010 }))).toEqual({ take: true, commitFrom: 1010 })
  })

  it.each([
    ['already taken', offer({ known: true })],
    ['job is Finalized', offer({}, { status: 'Finalized' })],
    ['every slot is committed', offer({}, { committed: 3 })],
    ['not drawn for this round', offer({ eligibility: { drawn: false, reason: 'not drawn' } })],
    ['round seed not ready', offer({ eligibility: { drawn: false, reason: 'seed not ready' } })],
    ['not drawn yet', offer({ now: 980 })],
    ['commit window closes too soon', offer({ eligibility: drawn({ commitFrom: 1098 }) })],
    ['at capacity', offer({ running: 2 })],
    ['not enough free stake for the collateral', offer({ freeStake: 9n })],
    // 1000 wei of reward - 950 of gas at a spiked fee leaves 50, below the 100 asked.
    ['reward below the ask at the current fee', offer({ gasCost: 950n })],
  ])('skips a job when %s', (reason, parameters) => {
    expect(decideJob(parameters)).toEqual({ take: false, reason })
  })
})

const committed = (patch: Partial<NextStepParameters> = {}, job: Partial<NextStepParameters['job']> = {}): NextStepParameters => ({
  job: { status: 'Open', round: 0, roundSlots: 3, committed: 2, revealed: 0, commitDeadline: 1100, revealDeadline: 1200, ...job },
  slotRound: 0,
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
  it('closes the round when every committed slot revealed, or after the reveal window', () => {
    expect(nextStep(committed({ revealed: true }, { committed: 3, revealed: 2 }))).toBe('wait')
    expect(nextStep(committed({ revealed: true }, { committed: 3, revealed: 3 }))).toBe('finalize')
    expect(nextStep(committed({ now: 1201 }))).toBe('finalize')
  })
  it('a no-reveal worker never reveals but may still close the round after the deadline', () => {
    expect(nextStep(committed({ mayReveal: false }, { committed: 3 }))).toBe('wait')
    expect(nextStep(committed({ mayReveal: false, now: 1201 }, { committed: 3 }))).toBe('finalize')
  })
  it('a first-committee slot waits through the escalation round and helps close it', () => {
    const escalated = { status: 'Escalated' as const, round: 1, roundSlots: 9, committed: 0, revealed: 0 }
    expect(nextStep(committed({ revealed: false }, escalated))).toBe('wait')
    expect(nextStep(committed({ revealed: true, now: 1101 }, escalated))).toBe('finalize')
    expect(nextStep(committed({ slotRound: 1 }, { ...escalated, committed: 9 }))).toBe('reveal')
  })
  it('stops once the job left the open states', () => {
    expect(nextStep(committed({}, { status: 'Inconclusive' }))).toBe('settled')
  })
})
