// Typed errors of the chain layer (anvil, deployment files, market calls). Each carries a `code`
// the caller can branch on and a message that says how to fix the problem.
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

export type ChainErrorCode =
  | 'ANVIL_START_FAILED'
  | 'DEPLOYMENT_INVALID'
  | 'DEPLOYMENT_ABI_MISMATCH'
  | 'KEY_INVALID'
  | 'PARAMS_INVALID'
  | 'MARKET_REVERTED'
  | 'NO_ACCOUNT'

/** Chain failures are the host's or the operator's to fix, never an HTTP client's. */
export const chainErrorCodes: ErrorCodeTable<ChainErrorCode> = {
  ANVIL_START_FAILED: hostError,
  DEPLOYMENT_INVALID: hostError,
  DEPLOYMENT_ABI_MISMATCH: hostError,
  KEY_INVALID: hostError,
  PARAMS_INVALID: hostError,
  MARKET_REVERTED: hostError,
  NO_ACCOUNT: hostError,
}

export class ChainError extends SandrunError<ChainErrorCode> {
  override name = 'ChainError'

  constructor(code: ChainErrorCode, shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super(code, shortMessage, chainErrorCodes, options)
  }
}

/**
 * The market contract reverted with one of its custom errors. `errorName` is the Solidity name
 * (e.g. `MarketInsufficientFreeStake`) and `args` its decoded arguments, so callers can react to
 * the exact condition instead of parsing text.
 */
export class MarketRevertError extends ChainError {
  override name = 'MarketRevertError'
  readonly errorName: string
  readonly args: readonly unknown[]

  constructor(errorName: string, args: readonly unknown[], cause: unknown) {
    const rendered = args.map((a) => (typeof a === 'bigint' ? a.toString() : String(a))).join(', ')
    super('MARKET_REVERTED', `market call reverted: ${errorName}(${rendered}). ${hintFor(errorName)}`, { cause })
    this.errorName = errorName
    this.args = args
  }
}

// What a caller should do about each revert; the contract's NatSpec has the full conditions.
const hints: Record<string, string> = {
  MarketInsufficientFreeStake: 'Stake more (stake) or wait for open jobs to settle.',
  MarketStakeLocked: 'Unstake at most the free (unlocked) stake, or wait for open jobs to settle.',
  MarketStillUnbonding: 'Wait until the unbonding period ends, then call withdrawStake again.',
  MarketNothingToWithdraw: 'There is nothing credited; check accountOf first.',
  MarketJobNotOpen: 'The job is unknown or already settled; read getJob for its status.',
  MarketCommitClosed: 'The commit window of this round is over; pick another job.',
  MarketJobFull: 'Every slot of this round is taken; pick another job.',
  MarketNotEligible: 'This address is not drawn for the round yet: eligibility widens over the commit window (isEligible answers off chain).',
  MarketSeedNotReady: 'The round is seeded by the hash of the block it started in; commit from the next block on.',
  MarketAlreadyCommitted: 'Each address may hold one slot per job.',
  MarketRevealNotOpen: 'Reveal once every slot of the round is committed or after its commit deadline.',
  MarketRevealClosed: "The reveal window of this slot's round is over; the round can only be closed (finalize) now.",
  MarketSealMismatch: 'Reveal the exact resultRoot and salt that were sealed, from the committing address.',
  MarketFinalizeTooEarly: 'Wait for all reveals of the round or for its reveal deadline.',
  MarketInvalidEscrow: 'Send a non-zero value that is a multiple of replicas x 1 gwei (reward x replicas, the reward in whole gwei).',
  MarketAmountTooLarge: 'A stake is capped at 2^48 gwei (about 281,000 ETH) and a slot collateral at 2^40 gwei (about 1,100 ETH); stake less or post a smaller reward.',
  MarketNotWholeGwei: 'Stake moves in whole gwei; unstake a multiple of 1 gwei.',
  MarketPeerSignatureInvalid: 'Sign "sandrun-peer-v1" || chainid || market || account with the peer key (64-byte Ed25519 signature).',
  MarketInvalidReplicas: 'Use 1 to 16 replicas.',
  MarketInvalidQuorum: 'Use a quorum between a strict majority of the replicas and the replicas.',
  MarketInvalidCommitWindow: 'Use a commit window within the deployment limits (see params()).',
  MarketInvalidRevealWindow: 'Use a reveal window within the deployment limits (see params()).',
}

function hintFor(errorName: string): string {
  return hints[errorName] ?? 'See docs/contracts.md for the error list.'
}
