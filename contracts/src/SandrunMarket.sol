// SPDX-License-Identifier: MIT
// The Sandrun job market: requesters escrow rewards for N replicas, staked workers commit sealed
// result roots, reveal them, and `finalize` pays the majority and slashes dissenters and no-shows.
pragma solidity 0.8.28;

import {MarketStaking} from "./MarketStaking.sol";
import {Account, Job, JobStatus, MarketParams, SlotOutcome} from "./MarketTypes.sol";

/// @title Sandrun market
/// @notice Commit-reveal consensus over result roots with staked, slashable collateral.
/// Every loop runs over at most `replicas` (<= MAX_REPLICAS) slots.
/// @dev Storage per job: three job words, one word per slot keyed by (job, worker) and, past
/// ROSTER_HEAD replicas, packed roster words (8 worker indices each). A slot word holds the
/// seal's top 224 bits with a tag and the slot position in the low 32 bits until reveal, then
/// the full revealed root, so a reveal overwrites a word instead of filling a new one. A root
/// that would look like a sealed word (or is 0 or 1) is kept in `_tagLikeRoots` and its slot
/// word says so with ROOT_ELSEWHERE, so a revealed slot can never pass for a sealed one.
contract SandrunMarket is MarketStaking {
    /// @notice Most replicas one job may ask for; bounds every loop in this contract.
    uint256 public constant MAX_REPLICAS = 16;
    /// @dev Slots whose worker index lives in the job's roster word; the rest use `_rosterTail`.
    uint256 private constant ROSTER_HEAD = 3;
    /// @dev The part of a slot word that holds the seal (its top 224 bits).
    bytes32 private constant SEAL_MASK = ~bytes32(uint256(type(uint32).max));
    /// @dev Bits 8-31 of a sealed slot word; bits 0-7 hold the slot position.
    uint256 private constant SEALED_TAG = 0x5EA1ED00;
    uint256 private constant SEALED_TAG_MASK = 0xFFFFFF00;
    /// @dev Slot word of a revealed root that must not be stored as itself (see contract @dev).
    bytes32 private constant ROOT_ELSEWHERE = bytes32(uint256(1));

    /// @notice Floor of the collateral one slot locks (wei).
    uint256 public immutable minCollateral;
    /// @notice Collateral = max(minCollateral, reward * collateralMultiplier), rounded up to gwei.
    uint256 public immutable collateralMultiplier;
    uint256 public immutable minCommitWindow;
    uint256 public immutable maxCommitWindow;
    uint256 public immutable minRevealWindow;
    uint256 public immutable maxRevealWindow;

    /// @notice Number of jobs posted; job ids run from 1 to jobCount.
    uint256 public jobCount;

    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 jobId => mapping(address worker => bytes32)) private _slotWords;
    mapping(uint256 jobId => mapping(address worker => bytes32)) private _tagLikeRoots;
    mapping(uint256 jobId => uint32[MAX_REPLICAS - ROSTER_HEAD]) private _rosterTail;

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

    /// @notice What `getSlots` returns per slot. Until the slot is revealed `root` is the seal,
    /// truncated to its top 224 bits (the part the contract keeps).
    struct SlotView {
        address worker;
        bool committed;
        bool revealed;
        bytes32 root;
        SlotOutcome outcome;
    }

    /// @dev A job's slots as finalize and the views see them, and its most frequent revealed root.
    struct Tally {
        address[] workers; // per position; zero past `committed`
        bytes32[] roots; // revealed root, or the truncated seal of an unrevealed slot
        uint256 revealedMask; // bit i set when slot i revealed
        uint256 committed;
        uint256 revealed;
        bytes32 root; // the Boyer-Moore candidate: the majority root if there is one
        uint256 rootIndex;
        uint256 votes; // revealed slots whose root equals `root`
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
    /// @notice `worker` took slot `slot` with a sealed root and locked the job's collateral.
    event SlotCommitted(uint256 indexed jobId, address indexed worker, uint256 slot, bytes32 seal);
    /// @notice `worker` revealed `resultRoot` for slot `slot`.
    event SlotRevealed(uint256 indexed jobId, address indexed worker, uint256 slot, bytes32 resultRoot);
    /// @notice The job reached a terminal state by `finalize` (Finalized, Inconclusive or Expired).
    /// `outcomes` packs each slot's SlotOutcome in 4 bits, slot 0 lowest (getSlots names the
    /// workers); every Won slot was credited `payout`, every Dissented or NotRevealed slot lost the
    /// job's collateral, `slashed` in total. One event instead of one per slot saves ~2k gas a slot.
    event JobFinalized(
        uint256 indexed jobId, JobStatus status, bytes32 consensusRoot, uint256 outcomes, uint256 payout, uint256 slashed
    );
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
        // Deadlines are uint40 and the reveal window uint32; a year keeps both far from overflow.
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
        uint256 collateral = collateralFor(reward);
        // No stake can exceed 2^80 wei, so nobody could ever take a slot of such a job.
        if (collateral > type(uint80).max) revert MarketAmountTooLarge(collateral, type(uint80).max);
        uint40 commitDeadline = uint40(block.timestamp + commitWindow);
        jobId = ++jobCount;
        Job storage job = _jobs[jobId];
        job.requester = msg.sender;
        job.reward = uint96(reward);
        job.status = JobStatus.Open;
        job.replicas = replicas;
        job.quorum = quorum;
        job.commitDeadline = commitDeadline;
        job.revealWindow = revealWindow;
        job.collateralGwei = uint56(collateral / 1 gwei);
        job.specHash = specHash;
        uint40 revealDeadline = commitDeadline + revealWindow;
        emit JobPosted(jobId, msg.sender, specHash, reward, replicas, quorum, commitDeadline, revealDeadline);
    }

    /// @notice Take a slot of an open job with a sealed result and lock collateral for it.
    /// @param seal keccak256(abi.encode(jobId, msg.sender, resultRoot, salt)); binding the
    /// worker's address makes a seal copied from another worker impossible to reveal. Its top
    /// 224 bits are kept: finding two results with one seal would take about 2^112 hashes.
    function commit(uint256 jobId, bytes32 seal) external nonReentrant {
        Job storage job = _jobs[jobId];
        JobStatus status = job.status;
        if (status != JobStatus.Open) revert MarketJobNotOpen(jobId, status);
        if (block.timestamp > job.commitDeadline) revert MarketCommitClosed(jobId, job.commitDeadline);
        mapping(address => bytes32) storage slotWords = _slotWords[jobId];
        if (slotWords[msg.sender] != 0) revert MarketAlreadyCommitted(jobId, msg.sender);
        uint256 replicas = job.replicas;
        uint256 roster = job.roster;
        uint256 position;
        while (position < replicas && _rosterAt(jobId, roster, position) != 0) ++position;
        if (position == replicas) revert MarketJobFull(jobId);
        uint256 collateral = uint256(job.collateralGwei) * 1 gwei;
        uint256 workerIndex = _lock(msg.sender, collateral);
        if (position < ROSTER_HEAD) {
            job.roster = uint96(roster | (workerIndex << (32 * position)));
        } else {
            _rosterTail[jobId][position - ROSTER_HEAD] = uint32(workerIndex);
        }
        slotWords[msg.sender] = (seal & SEAL_MASK) | bytes32(SEALED_TAG | position);
        emit SlotCommitted(jobId, msg.sender, position, seal);
    }

    /// @notice Reveal the root behind the caller's seal. Opens once every slot is committed or
    /// the commit deadline passed, so nobody can copy a revealed root into a fresh commit.
    function reveal(uint256 jobId, bytes32 resultRoot, bytes32 salt) external nonReentrant {
        Job storage job = _jobs[jobId];
        JobStatus status = job.status;
        if (status != JobStatus.Open) revert MarketJobNotOpen(jobId, status);
        uint256 commitDeadline = job.commitDeadline;
        uint256 revealDeadline = commitDeadline + job.revealWindow;
        if (block.timestamp > revealDeadline) revert MarketRevealClosed(jobId, revealDeadline);
        if (block.timestamp <= commitDeadline && _rosterAt(jobId, job.roster, job.replicas - 1) == 0) {
            revert MarketRevealNotOpen(jobId, commitDeadline);
        }
        mapping(address => bytes32) storage slotWords = _slotWords[jobId];
        bytes32 word = slotWords[msg.sender];
        if (word == 0) revert MarketNotCommitted(jobId, msg.sender);
        // Revealed roots are never stored in sealed form, so this is the caller's own seal.
        if (!_isSealed(word)) revert MarketAlreadyRevealed(jobId, msg.sender);
        if ((keccak256(abi.encode(jobId, msg.sender, resultRoot, salt)) ^ word) & SEAL_MASK != 0) {
            revert MarketSealMismatch(jobId, msg.sender);
        }
        if (_isSealed(resultRoot) || resultRoot == 0 || resultRoot == ROOT_ELSEWHERE) {
            slotWords[msg.sender] = ROOT_ELSEWHERE;
            _tagLikeRoots[jobId][msg.sender] = resultRoot;
        } else {
            slotWords[msg.sender] = resultRoot;
        }
        emit SlotRevealed(jobId, msg.sender, uint8(uint256(word)), resultRoot);
    }

    /// @notice Settle a job; anyone may call. Allowed once the reveal deadline passed, or earlier
    /// when commits are closed and every committed slot revealed, or (no commits at all) once the
    /// commit deadline passed, which expires the job and refunds the requester.
    function finalize(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        JobStatus status = job.status;
        if (status != JobStatus.Open) revert MarketJobNotOpen(jobId, status);
        uint256 commitDeadline = job.commitDeadline;
        uint256 replicas = job.replicas;
        Tally memory tally = _tally(jobId, job);
        if (tally.committed == 0) {
            if (block.timestamp <= commitDeadline) revert MarketFinalizeTooEarly(jobId, commitDeadline + 1);
            job.status = JobStatus.Expired;
            emit JobFinalized(jobId, JobStatus.Expired, bytes32(0), 0, 0, 0);
            _refund(jobId, job.requester, uint256(job.reward) * replicas);
            return;
        }
        uint256 revealDeadline = commitDeadline + job.revealWindow;
        bool commitsClosed = tally.committed == replicas || block.timestamp > commitDeadline;
        if (block.timestamp <= revealDeadline && !(commitsClosed && tally.revealed == tally.committed)) {
            revert MarketFinalizeTooEarly(jobId, revealDeadline + 1);
        }
        if (tally.votes >= job.quorum) {
            _settleConsensus(job, jobId, tally);
        } else {
            _settleInconclusive(job, jobId, tally);
        }
    }

    /// @notice Cancel an open job nobody has committed to yet; the escrow is credited back.
    function cancel(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        JobStatus status = job.status;
        if (status != JobStatus.Open) revert MarketJobNotOpen(jobId, status);
        if (msg.sender != job.requester) revert MarketNotRequester(jobId, msg.sender);
        if (uint32(job.roster) != 0) revert MarketJobHasCommits(jobId);
        job.status = JobStatus.Cancelled;
        uint256 refund = uint256(job.reward) * job.replicas;
        _credit(_accounts[msg.sender], refund);
        emit JobCancelled(jobId, refund);
    }

    /// @notice Collateral one slot of a job paying `reward` per replica locks: the larger of
    /// minCollateral and reward * collateralMultiplier, rounded up to a whole gwei (stakes lock
    /// collateral in gwei so that an account stays one storage word).
    function collateralFor(uint256 reward) public view returns (uint256) {
        uint256 scaled = reward * collateralMultiplier;
        uint256 collateral = scaled > minCollateral ? scaled : minCollateral;
        return (collateral + 1 gwei - 1) / 1 gwei * 1 gwei;
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
        JobStatus status = job.status;
        Tally memory tally = _tally(jobId, job);
        view_ = JobView({
            status: status,
            requester: job.requester,
            specHash: job.specHash,
            reward: job.reward,
            collateral: uint256(job.collateralGwei) * 1 gwei,
            replicas: job.replicas,
            quorum: job.quorum,
            commitDeadline: job.commitDeadline,
            revealDeadline: job.commitDeadline + job.revealWindow,
            committed: uint8(tally.committed),
            revealed: uint8(tally.revealed),
            consensusRoot: status == JobStatus.Finalized ? tally.roots[job.winner] : bytes32(0)
        });
    }

    /// @notice Every slot of a job (length = replicas) with its worker, root and outcome.
    function getSlots(uint256 jobId) external view returns (SlotView[] memory views) {
        Job storage job = _jobs[jobId];
        JobStatus status = job.status;
        Tally memory tally = _tally(jobId, job);
        bytes32 consensusRoot = status == JobStatus.Finalized ? tally.roots[job.winner] : bytes32(0);
        views = new SlotView[](tally.workers.length);
        for (uint256 i; i < views.length; ++i) {
            bool committed = i < tally.committed;
            bool revealed = tally.revealedMask & (1 << i) != 0;
            SlotOutcome outcome = SlotOutcome.Empty;
            if (committed) outcome = _outcome(status, revealed, tally.roots[i] == consensusRoot);
            views[i] = SlotView({
                worker: tally.workers[i],
                committed: committed,
                revealed: revealed,
                root: tally.roots[i],
                outcome: outcome
            });
        }
    }

    /// @dev Winners get reward + an equal share of the slashed collateral; everybody else loses
    /// its collateral; unpaid rewards and the share's rounding dust go back to the requester.
    function _settleConsensus(Job storage job, uint256 jobId, Tally memory tally) private {
        uint256 reward = job.reward;
        uint256 collateral = uint256(job.collateralGwei) * 1 gwei;
        uint256 winners = tally.votes;
        uint256 slashed = collateral * (tally.committed - winners);
        uint256 payout = reward + slashed / winners;
        job.status = JobStatus.Finalized;
        job.winner = uint8(tally.rootIndex);
        uint256 outcomes;
        for (uint256 i; i < tally.committed; ++i) {
            Account storage account = _accounts[tally.workers[i]];
            SlotOutcome outcome;
            if (tally.revealedMask & (1 << i) != 0 && tally.roots[i] == tally.root) {
                outcome = SlotOutcome.Won;
                _release(account, collateral, payout);
            } else {
                outcome = tally.revealedMask & (1 << i) != 0 ? SlotOutcome.Dissented : SlotOutcome.NotRevealed;
                _slash(account, collateral);
            }
            outcomes |= uint256(outcome) << (4 * i);
        }
        emit JobFinalized(jobId, JobStatus.Finalized, tally.root, outcomes, payout, slashed);
        uint256 refund = reward * (job.replicas - winners) + (slashed - (payout - reward) * winners);
        if (refund != 0) _refund(jobId, job.requester, refund);
    }

    /// @dev No quorum: the requester gets the escrow back plus the no-shows' collateral;
    /// revealers get their collateral unlocked, since nobody can tell who was right.
    function _settleInconclusive(Job storage job, uint256 jobId, Tally memory tally) private {
        uint256 collateral = uint256(job.collateralGwei) * 1 gwei;
        uint256 slashed = collateral * (tally.committed - tally.revealed);
        job.status = JobStatus.Inconclusive;
        uint256 outcomes;
        for (uint256 i; i < tally.committed; ++i) {
            Account storage account = _accounts[tally.workers[i]];
            SlotOutcome outcome;
            if (tally.revealedMask & (1 << i) != 0) {
                outcome = SlotOutcome.Released;
                _release(account, collateral, 0);
            } else {
                outcome = SlotOutcome.NotRevealed;
                _slash(account, collateral);
            }
            outcomes |= uint256(outcome) << (4 * i);
        }
        emit JobFinalized(jobId, JobStatus.Inconclusive, bytes32(0), outcomes, 0, slashed);
        _refund(jobId, job.requester, uint256(job.reward) * job.replicas + slashed);
    }

    function _refund(uint256 jobId, address requester, uint256 amount) private {
        _credit(_accounts[requester], amount);
        emit RequesterRefunded(jobId, requester, amount);
    }

    /// @dev Reads the job's slots in position order (the first `committed` are taken: the roster
    /// fills in order) and finds the most frequent revealed root. A root can reach quorum
    /// (> replicas/2) only as a strict majority of the revealed roots, so the Boyer-Moore
    /// majority vote finds it in the same pass; a second pass over memory counts its votes.
    function _tally(uint256 jobId, Job storage job) private view returns (Tally memory tally) {
        uint256 replicas = job.replicas;
        uint256 roster = job.roster;
        tally.workers = new address[](replicas);
        tally.roots = new bytes32[](replicas);
        mapping(address => bytes32) storage slotWords = _slotWords[jobId];
        uint256 lead;
        uint256 committed;
        for (; committed < replicas; ++committed) {
            uint256 workerIndex = _rosterAt(jobId, roster, committed);
            if (workerIndex == 0) break;
            address worker = _workers[workerIndex];
            bytes32 word = slotWords[worker];
            tally.workers[committed] = worker;
            if (_isSealed(word)) {
                tally.roots[committed] = word & SEAL_MASK;
                continue;
            }
            bytes32 root = word == ROOT_ELSEWHERE ? _tagLikeRoots[jobId][worker] : word;
            tally.roots[committed] = root;
            tally.revealedMask |= 1 << committed;
            ++tally.revealed;
            if (lead == 0) {
                tally.root = root;
                tally.rootIndex = committed;
                lead = 1;
            } else if (root == tally.root) {
                ++lead;
            } else {
                --lead;
            }
        }
        tally.committed = committed;
        for (uint256 i; i < committed; ++i) {
            if (tally.revealedMask & (1 << i) != 0 && tally.roots[i] == tally.root) ++tally.votes;
        }
    }

    /// @dev Worker index of the slot at `position` (0 = empty); `roster` is the job's roster word.
    function _rosterAt(uint256 jobId, uint256 roster, uint256 position) private view returns (uint256) {
        if (position < ROSTER_HEAD) return uint32(roster >> (32 * position));
        return _rosterTail[jobId][position - ROSTER_HEAD];
    }

    /// @dev True for a slot word that still holds a seal.
    function _isSealed(bytes32 word) private pure returns (bool) {
        return uint256(word) & SEALED_TAG_MASK == SEALED_TAG;
    }

    function _outcome(JobStatus status, bool revealed, bool agrees) private pure returns (SlotOutcome) {
        if (status == JobStatus.Open) return revealed ? SlotOutcome.Revealed : SlotOutcome.Committed;
        if (!revealed) return SlotOutcome.NotRevealed;
        if (status == JobStatus.Finalized) return agrees ? SlotOutcome.Won : SlotOutcome.Dissented;
        return SlotOutcome.Released;
    }
}
