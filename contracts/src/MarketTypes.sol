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

/// @notice Per-address money record. Word 0 is what commit and finalize touch, so a worker's
/// lock, unlock, slash and payment each cost one storage write.
struct Account {
    // word 0
    uint80 staked; // active stake, including the locked part (80 bits = 1.2M ETH)
    uint80 locked; // collateral held by open jobs; never above `staked`
    uint96 balance; // credited payments and refunds, withdrawable at any time
    // word 1
    uint96 unbonding; // stake leaving the market, withdrawable at `unbondingEnd`
    uint64 unbondingEnd;
}

/// @notice A job. Word 1 holds everything commit and reveal read, so they load a single word.
struct Job {
    // word 0
    address requester;
    // word 1
    uint96 reward; // per replica; escrow = reward * replicas
    uint40 commitDeadline; // last second at which commit is accepted
    uint40 revealDeadline; // last second at which reveal is accepted
    uint8 replicas;
    uint8 quorum;
    JobStatus status;
    uint8 winner; // index of a slot in the winning group (Finalized only)
    // word 2
    bytes32 specHash;
}

/// @notice One replica slot. `sealOrRoot` holds the seal until reveal, then the revealed root.
struct Slot {
    address worker;
    bool revealed;
    bytes32 sealOrRoot;
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
