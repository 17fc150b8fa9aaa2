// SPDX-License-Identifier: MIT
// Shared types of the Sandrun market: the job and slot state machines and the packed storage
// records. Field widths are chosen so that each record a hot path touches fits one storage word.
pragma solidity 0.8.28;

/// @notice Lifecycle of a job. `Open` (first committee) and `Escalated` (the larger second
/// committee drawn after dissent) are the non-terminal states.
enum JobStatus {
    None, // no such job
    Open, // the first committee commits, then reveals
    Escalated, // the first committee disagreed: a fresh, larger committee commits and reveals
    Finalized, // a root won (unanimous first committee, or a majority of all reveals); it is the consensus root
    Inconclusive, // no root won; the requester was refunded
    Expired // nobody committed before the first commit deadline; the requester was refunded
}

/// @notice What happened to one slot, derived from the slot and its job's state.
enum SlotOutcome {
    Empty, // nobody took the slot
    Committed, // sealed result, not revealed yet (job still open)
    Revealed, // revealed, job still open
    Won, // revealed the consensus root: reward plus a share of slashed collateral
    Dissented, // revealed another root in a finalized job: collateral slashed
    NotRevealed, // committed but never revealed in its round: collateral slashed
    Released // revealed in an inconclusive job: collateral unlocked plus a share of no-shows' collateral
}

/// @notice Per-address money record. Word 0 is all that commit and settlement touch, so a worker's
/// eligibility, lock, unlock, slash and payment each cost one storage access.
struct Account {
    // word 0
    uint48 stakedGwei; // including the locked part; stake() refuses more than 2^48 - 1 gwei (281,474 ETH)
    uint48 lockedGwei; // collateral held by open jobs; <= stakedGwei
    uint32 workerIndex; // given at the first stake, never reused; 0 = never staked
    uint88 balance; // wei; 2^88 wei (309M ETH) is more than all ETH in existence, so credits fit
    uint40 stakeBlock; // block of the last stake deposit: stake younger than a job's seed does not count for it
    // word 1
    uint96 unbonding; // stake leaving the market, withdrawable at `unbondingEnd`
    uint64 unbondingEnd;
}

/// @notice What `accountOf` returns: an account in wei, with the worker index and stake block.
struct AccountView {
    uint256 staked;
    uint256 locked;
    uint256 balance;
    uint256 unbonding;
    uint256 unbondingEnd;
    uint256 workerIndex;
    uint256 stakeBlock;
}

/// @notice Market-wide counters in one word: postJob, stake and slashing each touch it once.
struct MarketTotals {
    uint64 jobCount;
    uint32 workerCount;
    uint64 stakedGwei; // sum of every account's stakedGwei: the denominator of eligibility
}

/// @notice A job: word 0 is the bit-packed round state (see JobState), read by commit and reveal
/// and written by each of them; word 1 holds the requester and quorum, read when the job settles,
/// and the round's seed, which the first commit of a round stores.
struct Job {
    // word 0
    uint256 state;
    // word 1
    address requester;
    uint8 quorum;
    uint88 seed; // low 88 bits of the round's seed block hash; 0 until the round's first commit
}

/// @notice Deploy-time economics and limits; immutable for the life of a deployment.
struct MarketParams {
    uint256 minCollateral; // floor of the collateral a slot locks (wei)
    uint256 collateralMultiplier; // collateral = max(minCollateral, reward * max(multiplier, escalation slots))
    uint256 unbondingPeriod; // seconds between requestUnstake and withdrawStake
    uint256 minCommitWindow; // seconds
    uint256 maxCommitWindow;
    uint256 minRevealWindow;
    uint256 maxRevealWindow;
}
