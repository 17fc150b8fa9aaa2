// SPDX-License-Identifier: MIT
// The Sandrun job market: requesters escrow rewards for N replicas, staked workers commit sealed
// result roots, reveal them, and `finalize` pays the majority and slashes dissenters and no-shows.
pragma solidity 0.8.28;

import {MarketStaking} from "./MarketStaking.sol";
import {Account, Job, JobStatus, MarketParams, Slot, SlotOutcome} from "./MarketTypes.sol";

/// @title Sandrun market
/// @notice Commit-reveal consensus over result roots with staked, slashable collateral.
/// Every loop runs over at most `replicas` (<= MAX_REPLICAS) slots.
contract SandrunMarket is MarketStaking {
    /// @notice Most replicas one job may ask for; bounds every loop in this contract.
    uint256 public constant MAX_REPLICAS = 16;

    /// @notice Floor of the collateral one slot locks (wei).
    uint256 public immutable minCollateral;
    /// @notice Collateral = max(minCollateral, reward * collateralMultiplier).
    uint256 public immutable collateralMultiplier;
    uint256 public immutable minCommitWindow;
    uint256 public immutable maxCommitWindow;
    uint256 public immutable minRevealWindow;
    uint256 public immutable maxRevealWindow;

    /// @notice Number of jobs posted; job ids run from 1 to jobCount.
    uint256 public jobCount;

    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 jobId => Slot[MAX_REPLICAS]) private _slots;

    /// @notice What `getJob` returns: the stored job plus the derived counts and consensus root.
    struct JobView {
        JobStatus status;
        address requester;
        bytes32 specHash;
        uint256 reward;
        uint256 collateral;
        uint8 replicas;
        uint8 quorum;
        uint40 commitDeadline;
        uint40 revealDeadline;
        uint8 committed;
        uint8 revealed;
        bytes32 consensusRoot; // zero unless status is Finalized
    }

    /// @notice What `getSlots` returns per slot. `root` is the seal until the slot is revealed.
    struct SlotView {
        address worker;
        bool committed;
        bool revealed;
        bytes32 root;
        SlotOutcome outcome;
    }

    /// @dev Counts of one job's slots and its most frequent revealed root.
    struct Tally {
        uint256 committed;
        uint256 revealed;
        bytes32 root;
        uint256 rootIndex;
        uint256 votes;
    }

    /// @notice A deploy parameter is out of range; `reason` names it.
    error MarketInvalidParams(string reason);
    /// @notice Replicas must be between 1 and `max`.
    error MarketInvalidReplicas(uint256 replicas, uint256 max);
    /// @notice Quorum must be between a strict majority of the replicas (`min`) and `max`.
    error MarketInvalidQuorum(uint256 quorum, uint256 min, uint256 max);
    /// @notice The commit window (seconds) must be within the deployment's limits.
    error MarketInvalidCommitWindow(uint256 window, uint256 min, uint256 max);
    /// @notice The reveal window (seconds) must be within the deployment's limits.
    error MarketInvalidRevealWindow(uint256 window, uint256 min, uint256 max);
    /// @notice msg.value must be a non-zero multiple of replicas (escrow = reward * replicas).
    error MarketInvalidEscrow(uint256 value, uint256 replicas);
    /// @notice The job is not open (unknown jobs have status None).
    error MarketJobNotOpen(uint256 jobId, JobStatus status);
    /// @notice Commits closed at `deadline`.
    error MarketCommitClosed(uint256 jobId, uint256 deadline);
    /// @notice Every slot of the job is taken.
    error MarketJobFull(uint256 jobId);
    /// @notice `worker` already holds a slot of this job; one slot per address.
    error MarketAlreadyCommitted(uint256 jobId, address worker);
    /// @notice Reveals open when every slot is committed or after `commitDeadline`.
    error MarketRevealNotOpen(uint256 jobId, uint256 commitDeadline);
    /// @notice Reveals closed at `deadline`.
    error MarketRevealClosed(uint256 jobId, uint256 deadline);
    /// @notice `worker` holds no slot of this job.
    error MarketNotCommitted(uint256 jobId, address worker);
    /// @notice `worker` already revealed its slot.
    error MarketAlreadyRevealed(uint256 jobId, address worker);
    /// @notice keccak256(abi.encode(jobId, worker, resultRoot, salt)) is not the committed seal.
    error MarketSealMismatch(uint256 jobId, address worker);
    /// @notice The job cannot be settled before `notBefore` (unix seconds) unless all reveals are in.
    error MarketFinalizeTooEarly(uint256 jobId, uint256 notBefore);
    /// @notice Only the requester may cancel.
    error MarketNotRequester(uint256 jobId, address caller);
    /// @notice A worker already committed, so the job can no longer be cancelled.
    error MarketJobHasCommits(uint256 jobId);

    /// @notice A job was posted with `reward` per replica escrowed.
    event JobPosted(
        uint256 indexed jobId,
        address indexed requester,
        bytes32 indexed specHash,
        uint256 reward,
        uint8 replicas,
        uint8 quorum,
        uint40 commitDeadline,
        uint40 revealDeadline
    );
    /// @notice `worker` took slot `slot` with a sealed root and locked `collateral`.
    event SlotCommitted(uint256 indexed jobId, address indexed worker, uint256 slot, bytes32 seal, uint256 collateral);
    /// @notice `worker` revealed `resultRoot` for slot `slot`.
    event SlotRevealed(uint256 indexed jobId, address indexed worker, uint256 slot, bytes32 resultRoot);
    /// @notice The job reached a terminal state by `finalize` (Finalized, Inconclusive or Expired).
    event JobFinalized(uint256 indexed jobId, JobStatus status, bytes32 consensusRoot, uint256 winners, uint256 slashed);
    /// @notice One slot was settled: `paid` credited to the worker, `slashed` taken from its stake.
    event SlotSettled(uint256 indexed jobId, address indexed worker, SlotOutcome outcome, uint256 paid, uint256 slashed);
    /// @notice `amount` (unused escrow, dust, slashed no-shows) was credited to the requester.
    event RequesterRefunded(uint256 indexed jobId, address indexed requester, uint256 amount);
    /// @notice The requester cancelled the job; its escrow was credited back.
    event JobCancelled(uint256 indexed jobId, uint256 refund);

    constructor(MarketParams memory params) MarketStaking(params.unbondingPeriod) {
        // Without collateral nobody can be slashed and the majority rule has no teeth.
        if (params.minCollateral == 0) revert MarketInvalidParams("minCollateral must be > 0");
        // Bounds reward * multiplier far below 2^256 and keeps collateral proportionate.
        if (params.collateralMultiplier > 1000) revert MarketInvalidParams("collateralMultiplier must be <= 1000");
        if (params.minCommitWindow == 0 || params.minCommitWindow > params.maxCommitWindow) {
            revert MarketInvalidParams("need 0 < minCommitWindow <= maxCommitWindow");
        }
        if (params.minRevealWindow == 0 || params.minRevealWindow > params.maxRevealWindow) {
            revert MarketInvalidParams("need 0 < minRevealWindow <= maxRevealWindow");
        }
        // Deadlines are stored as uint40; a year keeps them far from overflow.
        if (params.maxCommitWindow > 365 days || params.maxRevealWindow > 365 days) {
            revert MarketInvalidParams("windows must be <= 365 days");
        }
        minCollateral = params.minCollateral;
        collateralMultiplier = params.collateralMultiplier;
        minCommitWindow = params.minCommitWindow;
        maxCommitWindow = params.maxCommitWindow;
        minRevealWindow = params.minRevealWindow;
        maxRevealWindow = params.maxRevealWindow;
    }

    /// @notice Post a job: `msg.value` is the escrow, split into `replicas` equal rewards.
    /// @param specHash sha256 of the canonical job spec (manifest, bundle hash, environment digest).
    /// @param replicas Number of workers to run the job, 1..MAX_REPLICAS.
    /// @param quorum Equal roots needed for consensus, from replicas/2+1 to replicas.
    /// @param commitWindow Seconds from now during which workers may commit.
    /// @param revealWindow Seconds after the commit deadline during which workers may reveal.
    /// @return jobId The new job's id.
    function postJob(bytes32 specHash, uint8 replicas, uint8 quorum, uint32 commitWindow, uint32 revealWindow)
        external
        payable
        nonReentrant
        returns (uint256 jobId)
    {
        if (replicas == 0 || replicas > MAX_REPLICAS) revert MarketInvalidReplicas(replicas, MAX_REPLICAS);
        uint256 majority = uint256(replicas) / 2 + 1;
        if (quorum < majority || quorum > replicas) revert MarketInvalidQuorum(quorum, majority, replicas);
        if (commitWindow < minCommitWindow || commitWindow > maxCommitWindow) {
            revert MarketInvalidCommitWindow(commitWindow, minCommitWindow, maxCommitWindow);
        }
        if (revealWindow < minRevealWindow || revealWindow > maxRevealWindow) {
            revert MarketInvalidRevealWindow(revealWindow, minRevealWindow, maxRevealWindow);
        }
        uint256 reward = msg.value / replicas;
        if (reward == 0 || reward * replicas != msg.value || reward > type(uint96).max) {
            revert MarketInvalidEscrow(msg.value, replicas);
        }
        uint40 commitDeadline = uint40(block.timestamp + commitWindow);
        uint40 revealDeadline = commitDeadline + revealWindow;
        jobId = ++jobCount;
        Job storage job = _jobs[jobId];
        job.requester = msg.sender;
        job.reward = uint96(reward);
        job.commitDeadline = commitDeadline;
        job.revealDeadline = revealDeadline;
        job.replicas = replicas;
        job.quorum = quorum;
        job.status = JobStatus.Open;
        job.specHash = specHash;
        emit JobPosted(jobId, msg.sender, specHash, reward, replicas, quorum, commitDeadline, revealDeadline);
    }

    /// @notice Take a slot of an open job with a sealed result and lock collateral for it.
    /// @param seal keccak256(abi.encode(jobId, msg.sender, resultRoot, salt)); binding the
    /// worker's address makes a seal copied from another worker impossible to reveal.
    function commit(uint256 jobId, bytes32 seal) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.status != JobStatus.Open) revert MarketJobNotOpen(jobId, job.status);
        if (block.timestamp > job.commitDeadline) revert MarketCommitClosed(jobId, job.commitDeadline);
        uint256 replicas = job.replicas;
        Slot[MAX_REPLICAS] storage slots = _slots[jobId];
        uint256 index;
        for (; index < replicas; ++index) {
            address worker = slots[index].worker;
            if (worker == address(0)) break;
            if (worker == msg.sender) revert MarketAlreadyCommitted(jobId, msg.sender);
        }
        if (index == replicas) revert MarketJobFull(jobId);
        uint256 collateral = collateralFor(job.reward);
        _lock(msg.sender, collateral);
        slots[index] = Slot({worker: msg.sender, revealed: false, sealOrRoot: seal});
        emit SlotCommitted(jobId, msg.sender, index, seal, collateral);
    }

    /// @notice Reveal the root behind the caller's seal. Opens once every slot is committed or
    /// the commit deadline passed, so nobody can copy a revealed root into a fresh commit.
    function reveal(uint256 jobId, bytes32 resultRoot, bytes32 salt) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.status != JobStatus.Open) revert MarketJobNotOpen(jobId, job.status);
        if (block.timestamp > job.revealDeadline) revert MarketRevealClosed(jobId, job.revealDeadline);
        uint256 replicas = job.replicas;
        Slot[MAX_REPLICAS] storage slots = _slots[jobId];
        if (block.timestamp <= job.commitDeadline && slots[replicas - 1].worker == address(0)) {
            revert MarketRevealNotOpen(jobId, job.commitDeadline);
        }
        for (uint256 index; index < replicas; ++index) {
            Slot storage slot = slots[index];
            address worker = slot.worker;
            if (worker == address(0)) break;
            if (worker != msg.sender) continue;
            if (slot.revealed) revert MarketAlreadyRevealed(jobId, msg.sender);
            if (keccak256(abi.encode(jobId, msg.sender, resultRoot, salt)) != slot.sealOrRoot) {
                revert MarketSealMismatch(jobId, msg.sender);
            }
            slot.revealed = true;
            slot.sealOrRoot = resultRoot;
            emit SlotRevealed(jobId, msg.sender, index, resultRoot);
            return;
        }
        revert MarketNotCommitted(jobId, msg.sender);
    }

    /// @notice Settle a job; anyone may call. Allowed once the reveal deadline passed, or earlier
    /// when commits are closed and every committed slot revealed, or (no commits at all) once the
    /// commit deadline passed, which expires the job and refunds the requester.
    function finalize(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.status != JobStatus.Open) revert MarketJobNotOpen(jobId, job.status);
        uint256 replicas = job.replicas;
        Slot[MAX_REPLICAS] storage slots = _slots[jobId];
        Tally memory tally = _tally(slots, replicas);
        uint256 reward = job.reward;
        if (tally.committed == 0) {
            if (block.timestamp <= job.commitDeadline) revert MarketFinalizeTooEarly(jobId, job.commitDeadline + 1);
            job.status = JobStatus.Expired;
            emit JobFinalized(jobId, JobStatus.Expired, bytes32(0), 0, 0);
            _refund(jobId, job.requester, reward * replicas);
            return;
        }
        bool commitsClosed = tally.committed == replicas || block.timestamp > job.commitDeadline;
        if (block.timestamp <= job.revealDeadline && !(commitsClosed && tally.revealed == tally.committed)) {
            revert MarketFinalizeTooEarly(jobId, job.revealDeadline + 1);
        }
        uint256 collateral = collateralFor(reward);
        if (tally.votes >= job.quorum) {
            _settleConsensus(job, slots, jobId, tally, reward, collateral);
        } else {
            _settleInconclusive(job, slots, jobId, tally, reward, collateral);
        }
    }

    /// @notice Cancel an open job nobody has committed to yet; the escrow is credited back.
    function cancel(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.status != JobStatus.Open) revert MarketJobNotOpen(jobId, job.status);
        if (msg.sender != job.requester) revert MarketNotRequester(jobId, msg.sender);
        if (_slots[jobId][0].worker != address(0)) revert MarketJobHasCommits(jobId);
        job.status = JobStatus.Cancelled;
        uint256 refund = uint256(job.reward) * job.replicas;
        _credit(_accounts[msg.sender], refund);
        emit JobCancelled(jobId, refund);
    }

    /// @notice Collateral one slot of a job paying `reward` per replica locks.
    function collateralFor(uint256 reward) public view returns (uint256) {
        uint256 scaled = reward * collateralMultiplier;
        return scaled > minCollateral ? scaled : minCollateral;
    }

    /// @notice The seal a worker commits: keccak256(abi.encode(jobId, worker, resultRoot, salt)).
    function sealOf(uint256 jobId, address worker, bytes32 resultRoot, bytes32 salt) external pure returns (bytes32) {
        return keccak256(abi.encode(jobId, worker, resultRoot, salt));
    }

    /// @notice The deployment's economics and limits.
    function params() external view returns (MarketParams memory) {
        return MarketParams({
            minCollateral: minCollateral,
            collateralMultiplier: collateralMultiplier,
            unbondingPeriod: unbondingPeriod,
            minCommitWindow: minCommitWindow,
            maxCommitWindow: maxCommitWindow,
            minRevealWindow: minRevealWindow,
            maxRevealWindow: maxRevealWindow
        });
    }

    /// @notice A job's state for verification: status, parties, deadlines and consensus root.
    function getJob(uint256 jobId) external view returns (JobView memory view_) {
        Job storage job = _jobs[jobId];
        Tally memory tally = _tally(_slots[jobId], job.replicas);
        view_ = JobView({
            status: job.status,
            requester: job.requester,
            specHash: job.specHash,
            reward: job.reward,
            collateral: job.status == JobStatus.None ? 0 : collateralFor(job.reward),
            replicas: job.replicas,
            quorum: job.quorum,
            commitDeadline: job.commitDeadline,
            revealDeadline: job.revealDeadline,
            committed: uint8(tally.committed),
            revealed: uint8(tally.revealed),
            consensusRoot: job.status == JobStatus.Finalized ? _slots[jobId][job.winner].sealOrRoot : bytes32(0)
        });
    }

    /// @notice Every slot of a job (length = replicas) with its worker, root and outcome.
    function getSlots(uint256 jobId) external view returns (SlotView[] memory views) {
        Job storage job = _jobs[jobId];
        JobStatus status = job.status;
        uint256 replicas = job.replicas;
        Slot[MAX_REPLICAS] storage slots = _slots[jobId];
        bytes32 consensusRoot = status == JobStatus.Finalized ? slots[job.winner].sealOrRoot : bytes32(0);
        views = new SlotView[](replicas);
        for (uint256 i; i < replicas; ++i) {
            Slot storage slot = slots[i];
            views[i] = SlotView({
                worker: slot.worker,
                committed: slot.worker != address(0),
                revealed: slot.revealed,
                root: slot.sealOrRoot,
                outcome: _outcome(status, slot, consensusRoot)
            });
        }
    }

    /// @dev Winners get reward + an equal share of the slashed collateral; everybody else loses
    /// its collateral; unpaid rewards and the share's rounding dust go back to the requester.
    function _settleConsensus(
        Job storage job,
        Slot[MAX_REPLICAS] storage slots,
        uint256 jobId,
        Tally memory tally,
        uint256 reward,
        uint256 collateral
    ) private {
        uint256 winners = tally.votes;
        uint256 slashed = collateral * (tally.committed - winners);
        uint256 bonus = slashed / winners;
        job.status = JobStatus.Finalized;
        job.winner = uint8(tally.rootIndex);
        emit JobFinalized(jobId, JobStatus.Finalized, tally.root, winners, slashed);
        for (uint256 i; i < tally.committed; ++i) {
            Slot storage slot = slots[i];
            Account storage account = _accounts[slot.worker];
            account.locked -= uint80(collateral);
            if (slot.revealed && slot.sealOrRoot == tally.root) {
                _credit(account, reward + bonus);
                emit SlotSettled(jobId, slot.worker, SlotOutcome.Won, reward + bonus, 0);
            } else {
                account.staked -= uint80(collateral);
                SlotOutcome outcome = slot.revealed ? SlotOutcome.Dissented : SlotOutcome.NotRevealed;
                emit SlotSettled(jobId, slot.worker, outcome, 0, collateral);
            }
        }
        uint256 refund = reward * (job.replicas - winners) + (slashed - bonus * winners);
        if (refund != 0) _refund(jobId, job.requester, refund);
    }

    /// @dev No quorum: the requester gets the escrow back plus the no-shows' collateral;
    /// revealers get their collateral unlocked, since nobody can tell who was right.
    function _settleInconclusive(
        Job storage job,
        Slot[MAX_REPLICAS] storage slots,
        uint256 jobId,
        Tally memory tally,
        uint256 reward,
        uint256 collateral
    ) private {
        uint256 slashed = collateral * (tally.committed - tally.revealed);
        job.status = JobStatus.Inconclusive;
        emit JobFinalized(jobId, JobStatus.Inconclusive, bytes32(0), 0, slashed);
        for (uint256 i; i < tally.committed; ++i) {
            Slot storage slot = slots[i];
            Account storage account = _accounts[slot.worker];
            account.locked -= uint80(collateral);
            if (slot.revealed) {
                emit SlotSettled(jobId, slot.worker, SlotOutcome.Released, 0, 0);
            } else {
                account.staked -= uint80(collateral);
                emit SlotSettled(jobId, slot.worker, SlotOutcome.NotRevealed, 0, collateral);
            }
        }
        _refund(jobId, job.requester, reward * job.replicas + slashed);
    }

    function _refund(uint256 jobId, address requester, uint256 amount) private {
        _credit(_accounts[requester], amount);
        emit RequesterRefunded(jobId, requester, amount);
    }

    /// @dev Counts committed and revealed slots and finds the most frequent revealed root.
    /// A root can reach quorum (> replicas/2) only as a strict majority of the revealed roots, so
    /// the Boyer-Moore majority vote finds it in one pass; a second pass counts its votes.
    function _tally(Slot[MAX_REPLICAS] storage slots, uint256 replicas) private view returns (Tally memory tally) {
        uint256 lead;
        for (uint256 i; i < replicas; ++i) {
            Slot storage slot = slots[i];
            if (slot.worker == address(0)) break;
            ++tally.committed;
            if (!slot.revealed) continue;
            ++tally.revealed;
            bytes32 root = slot.sealOrRoot;
            if (lead == 0) {
                tally.root = root;
                tally.rootIndex = i;
                lead = 1;
            } else if (root == tally.root) {
                ++lead;
            } else {
                --lead;
            }
        }
        if (tally.revealed == 0) return tally;
        for (uint256 i; i < tally.committed; ++i) {
            Slot storage slot = slots[i];
            if (slot.revealed && slot.sealOrRoot == tally.root) ++tally.votes;
        }
    }

    function _outcome(JobStatus status, Slot storage slot, bytes32 consensusRoot) private view returns (SlotOutcome) {
        if (slot.worker == address(0)) return SlotOutcome.Empty;
        if (status == JobStatus.Open) return slot.revealed ? SlotOutcome.Revealed : SlotOutcome.Committed;
        if (!slot.revealed) return SlotOutcome.NotRevealed;
        if (status == JobStatus.Finalized) {
            return slot.sealOrRoot == consensusRoot ? SlotOutcome.Won : SlotOutcome.Dissented;
        }
        return SlotOutcome.Released;
    }
}
