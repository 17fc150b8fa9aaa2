// SPDX-License-Identifier: MIT
// Shared types of the Sandrun market: the job and slot state machines and the packed storage
// records. Field widths are chosen so that each record a hot path touches fits one storage word.
pragma solidity 0.8.28;

/// @notice Lifecycle of a job. `Open` is the only non-terminal state.
enum JobStatus {
    None, // no such job
    Open, // accepting commits, then reveals
    Finalized, // a group of equal roots reached quorum; its root is the consensus root
    Inconclusive, // revealed roots did not reach quorum; the requester was refunded
    Cancelled, // withdrawn by the requester before any commit
    Expired // nobody committed before the commit deadline; the requester was refunded
}

/// @notice What happened to one replica slot, derived from the slot and its job's final state.
enum SlotOutcome {
    Empty, // nobody took the slot
    Committed, // sealed result, not revealed yet (job still open)
    Revealed, // revealed, job still open
    Won, // revealed the consensus root: reward plus a share of slashed collateral
    Dissented, // revealed another root in a finalized job: collateral slashed
    NotRevealed, // committed but never revealed in a closed job: collateral slashed
    Released // revealed in an inconclusive job: collateral unlocked, nothing paid
}

/// @notice Per-address money record. Word 0 is all that commit and finalize touch, so a worker's
/// lock, unlock, slash and payment each cost one storage write, and commit finds the worker's
/// compact index there without another read.
struct Account {
    // word 0
    uint80 staked; // wei, including the locked part; stake() refuses more than 2^80 (1.2M ETH)
    uint56 lockedGwei; // collateral held by open jobs, in gwei (collateral is whole gwei); <= staked
    uint32 workerIndex; // given at the first stake, never reused; 0 = never staked
    uint88 balance; // wei; 2^88 wei (309M ETH) is more than all ETH in existence, so credits fit
    // word 1
    uint96 unbonding; // stake leaving the market, withdrawable at `unbondingEnd`
    uint64 unbondingEnd;
}

/// @notice What `accountOf` returns: an account in wei, with the worker index.
struct AccountView {
    uint256 staked;
    uint256 locked;
    uint256 balance;
    uint256 unbonding;
    uint256 unbondingEnd;
    uint256 workerIndex;
}

/// @notice A job. Word 1 holds everything commit and reveal read and the roster commit writes,
/// so each of them loads one job word and commit writes only that one.
struct Job {
    // word 0: read by finalize, cancel and the views only
    address requester;
    uint96 reward; // per replica; escrow = reward * replicas
    // word 1
    JobStatus status;
    uint8 replicas; // 1..16
    uint8 quorum;
    uint8 winner; // position of a slot in the winning group (Finalized only)
    uint40 commitDeadline; // last second at which commit is accepted
    uint32 revealWindow; // seconds after commitDeadline that reveal is accepted (<= 365 days)
    uint56 collateralGwei; // collateral per slot; <= 2^80 wei (the stake cap) < 2^56 gwei
    uint96 roster; // worker indices of slots 0-2, 32 bits each (0 = empty); slots 3-15 live apart
    // word 2
    bytes32 specHash;
}

/// @notice Deploy-time economics and limits; immutable for the life of a deployment.
struct MarketParams {
    uint256 minCollateral; // floor of the collateral a slot locks (wei)
    uint256 collateralMultiplier; // collateral = max(minCollateral, reward * multiplier)
    uint256 unbondingPeriod; // seconds between requestUnstake and withdrawStake
    uint256 minCommitWindow; // seconds
    uint256 maxCommitWindow;
    uint256 minRevealWindow;
    uint256 maxRevealWindow;
}
