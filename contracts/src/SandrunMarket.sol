// SPDX-License-Identifier: MIT
// The Sandrun job market: requesters escrow rewards for N replicas; workers that a seed nobody
// picks made eligible commit sealed result roots and reveal them; the last reveal settles a
// unanimous job, and dissent draws a fresh, larger committee whose majority decides.
pragma solidity 0.8.28;

import {MarketEligibility} from "./MarketEligibility.sol";
import {MarketSettlement} from "./MarketSettlement.sol";
import {MarketStaking} from "./MarketStaking.sol";
import {JobState} from "./JobState.sol";
import {Account, Job, JobStatus, MarketParams, MarketTotals, SlotOutcome} from "./MarketTypes.sol";

/// @title Sandrun market
/// @notice Commit-reveal consensus over result roots with staked, slashable collateral and
/// committees drawn by stake-weighted eligibility (MarketEligibility). Every loop runs over at most
/// MAX_REPLICAS + MAX_ESCALATION_SLOTS positions.
contract SandrunMarket is MarketSettlement {
    /// @notice Floor of the collateral one slot locks (wei).
    uint256 public immutable minCollateral;
    /// @notice Collateral = max(minCollateral, reward * max(collateralMultiplier, escalation slots)).
    uint256 public immutable collateralMultiplier;
    uint256 public immutable minCommitWindow;
    uint256 public immutable maxCommitWindow;
    uint256 public immutable minRevealWindow;
    uint256 public immutable maxRevealWindow;

    /// @notice Most jobs one postJobs call posts: about 4M gas, well inside a block.
    uint256 public constant MAX_POST_BATCH = 64;

    /// @notice Most commits (or reveals) one commitMany (revealMany) call carries: a worker's jobs due
    /// in the same block, about 1.7M gas of commits at most.
    uint256 public constant MAX_SLOT_BATCH = 32;

    /// @notice One commit of a commitMany batch: commit's parameters.
    struct CommitItem {
        uint256 jobId;
        bytes32 seal;
    }

    /// @notice One reveal of a revealMany batch: reveal's parameters.
    struct RevealItem {
        uint256 jobId;
        bytes32 resultRoot;
        bytes32 salt;
    }

    /// @notice One job of a postJobs batch: postJob's parameters, and the escrow (wei) it takes from msg.value.
    struct JobPost {
        bytes32 specHash;
        uint8 replicas;
        uint8 quorum;
        uint32 commitWindow;
        uint32 revealWindow;
        uint256 escrow;
    }

    /// @notice What `getJob` returns: the stored job plus its current round and derived counts.
    struct JobView {
        JobStatus status;
        address requester;
        uint256 reward;
        uint256 collateral;
        uint8 replicas;
        uint8 quorum;
        uint8 round; // 0: first committee, 1: escalation committee
        uint8 roundSlots; // size of the current round's committee
        uint40 roundStart;
        uint40 commitDeadline; // of the current round
        uint40 revealDeadline; // of the current round
        uint256 seedBlock; // block whose hash seeds the current round (see seedBlockFor past 256 blocks)
        bytes32 seed; // the current round's seed once its first commit stored it (low 88 bits of the hash, | 1), else 0
        uint8 committed; // in the current round
        uint8 revealed; // in the current round
        uint8 totalCommitted; // over all rounds
        uint8 totalRevealed;
        bytes32 consensusRoot; // zero unless status is Finalized
    }

    /// @notice What `getSlots` returns per position. Until the slot is revealed `root` is the
    /// seal, truncated to its top 224 bits (the part the contract keeps).
    struct SlotView {
        address worker;
        uint8 round;
        bool committed;
        bool revealed;
        bytes32 root;
        SlotOutcome outcome;
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
    /// @notice msg.value must be a non-zero multiple of replicas x 1 gwei (escrow = reward * replicas).
    error MarketInvalidEscrow(uint256 value, uint256 replicas);
    /// @notice The job is not open (unknown jobs have status None).
    error MarketJobNotOpen(uint256 jobId, JobStatus status);
    /// @notice Commits of the current round closed at `deadline`.
    error MarketCommitClosed(uint256 jobId, uint256 deadline);
    /// @notice Every slot of the current round is taken.
    error MarketJobFull(uint256 jobId);
    /// @notice `worker` already holds a slot of this job; one slot per address.
    error MarketAlreadyCommitted(uint256 jobId, address worker);
    /// @notice The round's seed is the hash of block `readyAt` - 1, usable from block `readyAt`.
    error MarketSeedNotReady(uint256 jobId, uint256 readyAt);
    /// @notice `worker` is not eligible for the current round now (its ticket is above its
    /// stake's threshold, its stake is younger than the seed, or the commit delay is still running).
    error MarketNotEligible(uint256 jobId, address worker);
    /// @notice Reveals open when every slot of the round is committed or after `commitDeadline`.
    error MarketRevealNotOpen(uint256 jobId, uint256 commitDeadline);
    /// @notice Reveals of the caller's round closed at `deadline`.
    error MarketRevealClosed(uint256 jobId, uint256 deadline);
    /// @notice `worker` holds no slot of this job.
    error MarketNotCommitted(uint256 jobId, address worker);
    /// @notice `worker` already revealed its slot.
    error MarketAlreadyRevealed(uint256 jobId, address worker);
    /// @notice keccak256(abi.encode(jobId, worker, resultRoot, salt)) is not the committed seal.
    error MarketSealMismatch(uint256 jobId, address worker);
    /// @notice A postJobs batch must hold 1..max jobs.
    error MarketInvalidBatch(uint256 size, uint256 max);
    /// @notice msg.value of postJobs must equal the sum of its jobs' escrows.
    error MarketBatchEscrowMismatch(uint256 value, uint256 sum);

    /// @notice The round cannot be closed before `notBefore` (unix seconds) unless all reveals are in.
    error MarketFinalizeTooEarly(uint256 jobId, uint256 notBefore);

    /// @notice A commit or reveal of a commitMany or revealMany batch did not land; `reason` is the
    /// revert data commit or reveal alone would have returned (a Market* error), empty when it ran
    /// out of gas.
    event BatchItemSkipped(uint256 indexed jobId, address indexed worker, bytes reason);

    /// @notice A job was posted with `reward` per replica escrowed; its first committee is seeded
    /// by the hash of the block it was posted in.
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
    /// @notice `worker` took position `slot` with a sealed root and locked the job's collateral.
    event SlotCommitted(uint256 indexed jobId, address indexed worker, uint256 slot, bytes32 seal);
    /// @notice `worker` revealed `resultRoot` for position `slot`.
    event SlotRevealed(uint256 indexed jobId, address indexed worker, uint256 slot, bytes32 resultRoot);

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
        // Windows live in 22-bit fields of the job word (JobState).
        if (params.maxCommitWindow > 30 days || params.maxRevealWindow > 30 days) {
            revert MarketInvalidParams("windows must be <= 30 days");
        }
        minCollateral = params.minCollateral;
        collateralMultiplier = params.collateralMultiplier;
        minCommitWindow = params.minCommitWindow;
        maxCommitWindow = params.maxCommitWindow;
        minRevealWindow = params.minRevealWindow;
        maxRevealWindow = params.maxRevealWindow;
    }

    /// @notice Post a job: `msg.value` is the escrow, split into `replicas` equal rewards (whole gwei).
    /// @param specHash sha256 of the canonical job spec (manifest, bundle hash, environment digest);
    /// kept in the JobPosted event only, where workers and verifiers read it.
    /// @param replicas Size of the first committee, 1..MAX_REPLICAS.
    /// @param quorum Equal roots needed for consensus, from replicas/2+1 to replicas.
    /// @param commitWindow Seconds each committee has to commit (eligibility widens over it).
    /// @param revealWindow Seconds after a commit deadline during which that committee reveals.
    /// @return jobId The new job's id.
    function postJob(bytes32 specHash, uint8 replicas, uint8 quorum, uint32 commitWindow, uint32 revealWindow)
        external
        payable
        nonReentrant
        returns (uint256 jobId)
    {
        return _post(specHash, replicas, quorum, commitWindow, revealWindow, msg.value);
    }

    /// @notice Post several jobs in one transaction (a gateway with many submissions waiting): each
    /// is checked and posted as postJob would, its `escrow` taken from msg.value, which must be their
    /// sum. All or nothing: one invalid job reverts the whole batch with that job's own error (the
    /// caller then posts the others on their own).
    /// @return firstJobId The first new job's id; the others follow one by one, in the order given.
    function postJobs(JobPost[] calldata posts) external payable nonReentrant returns (uint256 firstJobId) {
        if (posts.length == 0 || posts.length > MAX_POST_BATCH) revert MarketInvalidBatch(posts.length, MAX_POST_BATCH);
        uint256 sum;
        for (uint256 i; i < posts.length; ++i) {
            JobPost calldata p = posts[i];
            sum += p.escrow;
            uint256 jobId = _post(p.specHash, p.replicas, p.quorum, p.commitWindow, p.revealWindow, p.escrow);
            if (i == 0) firstJobId = jobId;
        }
        if (sum != msg.value) revert MarketBatchEscrowMismatch(msg.value, sum);
    }

    function _post(bytes32 specHash, uint8 replicas, uint8 quorum, uint32 commitWindow, uint32 revealWindow, uint256 escrow)
        private
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
        uint256 reward = escrow / replicas;
        if (reward == 0 || reward * replicas != escrow || reward % 1 gwei != 0) {
            revert MarketInvalidEscrow(escrow, replicas);
        }
        // The reward lives in a 40-bit field of the job word; a collateral above the stake cap could
        // never be locked by anybody.
        if (reward / 1 gwei > JobState.MAX_REWARD_GWEI) revert MarketAmountTooLarge(reward, JobState.MAX_REWARD_GWEI * 1 gwei);
        uint256 collateral = collateralFor(reward, replicas);
        if (collateral / 1 gwei > type(uint48).max) revert MarketAmountTooLarge(collateral, uint256(type(uint48).max) * 1 gwei);
        MarketTotals memory totals = _totals;
        jobId = ++totals.jobCount;
        _totals = totals;
        Job storage job = _jobs[jobId];
        job.state = JobState.posted(replicas, reward / 1 gwei, commitWindow, revealWindow);
        job.requester = msg.sender;
        job.quorum = quorum;
        uint40 commitDeadline = uint40(block.timestamp + commitWindow);
        emit JobPosted(jobId, msg.sender, specHash, reward, replicas, quorum, commitDeadline, commitDeadline + revealWindow);
    }

    /// @notice Take a slot of the current round with a sealed result and lock collateral for it.
    /// The caller must be eligible now (MarketEligibility; `isEligible` answers off chain).
    /// @param seal keccak256(abi.encode(jobId, msg.sender, resultRoot, salt)); binding the
    /// worker's address makes a seal copied from another worker impossible to reveal. Its top
    /// 224 bits are kept: finding two results with one seal would take about 2^112 hashes.
    function commit(uint256 jobId, bytes32 seal) external nonReentrant {
        Job storage job = _jobs[jobId];
        uint256 state = job.state;
        JobStatus status = JobState.status(state);
        if (status != JobStatus.Open && status != JobStatus.Escalated) revert MarketJobNotOpen(jobId, status);
        uint256 roundStart = JobState.roundStart(state);
        uint256 window = JobState.commitWindow(state);
        if (block.timestamp > roundStart + window) revert MarketCommitClosed(jobId, roundStart + window);
        mapping(address => bytes32) storage slotWords = _slotWords[jobId];
        if (slotWords[msg.sender] != 0) revert MarketAlreadyCommitted(jobId, msg.sender);
        (uint256 base, uint256 size) = _round(state);
        uint256 position = base + _committedIn(jobId, state, base, size);
        if (position == base + size) revert MarketJobFull(jobId);
        Account storage account = _accounts[msg.sender];
        uint256 seedBlock = JobState.seedBlock(state);
        // Stake deposited in or after the seed block did not exist when the seed was unknown.
        uint256 weight = account.stakeBlock >= seedBlock ? 0 : account.stakedGwei;
        uint256 ticket = MarketEligibility.ticket(_roundSeed(job, jobId, seedBlock), jobId, msg.sender);
        if (!MarketEligibility.isEligible(ticket, weight, _totals.stakedGwei, size, block.timestamp - roundStart, window)) {
            revert MarketNotEligible(jobId, msg.sender);
        }
        _lock(account, msg.sender, _collateralGwei(state));
        uint256 workerIndex = account.workerIndex;
        if (position < JobState.ROSTER_HEAD) {
            job.state = JobState.withRosterHead(state, position, workerIndex);
        } else {
            _rosterTail[jobId][position - JobState.ROSTER_HEAD] = uint32(workerIndex);
        }
        slotWords[msg.sender] = (seal & SEAL_MASK) | bytes32(SEALED_TAG | position);
        emit SlotCommitted(jobId, msg.sender, position, seal);
    }

    /// @notice Reveal the root behind the caller's seal. Opens once every slot of the round is
    /// committed or its commit deadline passed, so nobody can copy a revealed root into a fresh
    /// commit. The reveal that completes the round settles it (or draws the escalation committee).
    function reveal(uint256 jobId, bytes32 resultRoot, bytes32 salt) external nonReentrant {
        Job storage job = _jobs[jobId];
        uint256 state = job.state;
        JobStatus status = JobState.status(state);
        if (status != JobStatus.Open && status != JobStatus.Escalated) revert MarketJobNotOpen(jobId, status);
        mapping(address => bytes32) storage slotWords = _slotWords[jobId];
        bytes32 word = slotWords[msg.sender];
        if (word == 0) revert MarketNotCommitted(jobId, msg.sender);
        // Revealed roots are never stored in sealed form, so this is the caller's own seal.
        if (!_isSealed(word)) revert MarketAlreadyRevealed(jobId, msg.sender);
        uint256 position = uint8(uint256(word));
        (uint256 base, uint256 size) = _round(state);
        // A first-committee slot that stayed silent cannot reveal once the escalation began.
        if (position < base) revert MarketRevealClosed(jobId, JobState.roundStart(state));
        uint256 commitDeadline = JobState.roundStart(state) + JobState.commitWindow(state);
        uint256 revealDeadline = commitDeadline + JobState.revealWindow(state);
        if (block.timestamp > revealDeadline) revert MarketRevealClosed(jobId, revealDeadline);
        bool full = _rosterAt(jobId, state, base + size - 1) != 0;
        if (block.timestamp <= commitDeadline && !full) revert MarketRevealNotOpen(jobId, commitDeadline);
        if ((keccak256(abi.encode(jobId, msg.sender, resultRoot, salt)) ^ word) & SEAL_MASK != 0) {
            revert MarketSealMismatch(jobId, msg.sender);
        }
        if (_isSealed(resultRoot) || resultRoot == 0 || resultRoot == ROOT_ELSEWHERE) {
            slotWords[msg.sender] = ROOT_ELSEWHERE;
            _tagLikeRoots[jobId][msg.sender] = resultRoot;
        } else {
            slotWords[msg.sender] = resultRoot;
        }
        uint256 revealed = JobState.revealCount(state) + 1;
        job.state = JobState.withRevealCount(state, revealed);
        emit SlotRevealed(jobId, msg.sender, position, resultRoot);
        uint256 committed = full ? size : _committedIn(jobId, state, base, size);
        if ((full || block.timestamp > commitDeadline) && revealed == committed) _closeRound(job, jobId);
    }

    /// @notice Several commits of the caller in one transaction (a worker whose jobs are due in the
    /// same block). Each is made exactly as commit would make it; one that commit would refuse is
    /// skipped with a BatchItemSkipped event carrying commit's own error, and the others still land.
    /// Not nonReentrant itself: each commit takes the guard (a delegatecall keeps msg.sender, the
    /// storage and the guard's transient slot), and this function touches no state of its own.
    /// @return landed Bit i set when items[i] landed (for callers that simulate the call first).
    function commitMany(CommitItem[] calldata items) external returns (uint256 landed) {
        if (items.length == 0 || items.length > MAX_SLOT_BATCH) revert MarketInvalidBatch(items.length, MAX_SLOT_BATCH);
        for (uint256 i; i < items.length; ++i) {
            CommitItem calldata item = items[i];
            if (_each(abi.encodeCall(this.commit, (item.jobId, item.seal)), item.jobId)) landed |= 1 << i;
        }
    }

    /// @notice Several reveals of the caller in one transaction, each exactly as reveal would make it
    /// (a reveal that completes its round settles it); one that reveal would refuse is skipped with a
    /// BatchItemSkipped event, the others still land. Reentrancy as commitMany.
    /// @return landed Bit i set when items[i] landed.
    function revealMany(RevealItem[] calldata items) external returns (uint256 landed) {
        if (items.length == 0 || items.length > MAX_SLOT_BATCH) revert MarketInvalidBatch(items.length, MAX_SLOT_BATCH);
        for (uint256 i; i < items.length; ++i) {
            RevealItem calldata item = items[i];
            if (_each(abi.encodeCall(this.reveal, (item.jobId, item.resultRoot, item.salt)), item.jobId)) landed |= 1 << i;
        }
    }

    /// One item of a batch, in this contract's own context: a revert undoes that item only.
    function _each(bytes memory call, uint256 jobId) private returns (bool ok) {
        bytes memory reason;
        (ok, reason) = address(this).delegatecall(call);
        if (!ok) emit BatchItemSkipped(jobId, msg.sender, reason);
    }

    /// @notice Close the current round; anyone may call. Allowed once the round's reveal deadline
    /// passed, or earlier when its commits are closed and every committed slot revealed, or (no
    /// commit in the round) once its commit deadline passed: a first round nobody took expires and
    /// refunds the requester, an escalation round nobody took leaves the decision to the first.
    function finalize(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        uint256 state = job.state;
        JobStatus status = JobState.status(state);
        if (status != JobStatus.Open && status != JobStatus.Escalated) revert MarketJobNotOpen(jobId, status);
        uint256 commitDeadline = JobState.roundStart(state) + JobState.commitWindow(state);
        (uint256 base, uint256 size) = _round(state);
        uint256 committed = _committedIn(jobId, state, base, size);
        if (committed == 0) {
            if (block.timestamp <= commitDeadline) revert MarketFinalizeTooEarly(jobId, commitDeadline + 1);
            if (status == JobStatus.Open) return _expire(job, jobId, state);
            return _closeRound(job, jobId);
        }
        uint256 revealDeadline = commitDeadline + JobState.revealWindow(state);
        bool commitsClosed = committed == size || block.timestamp > commitDeadline;
        if (block.timestamp <= revealDeadline && !(commitsClosed && JobState.revealCount(state) == committed)) {
            revert MarketFinalizeTooEarly(jobId, revealDeadline + 1);
        }
        _closeRound(job, jobId);
    }

    /// @notice Collateral one slot of a job paying `reward` per replica locks: enough to pay a
    /// whole escalation committee from one loser, at least minCollateral and reward *
    /// collateralMultiplier, rounded up to a whole gwei (stakes are kept in gwei).
    function collateralFor(uint256 reward, uint256 replicas) public view returns (uint256) {
        uint256 multiple = MarketEligibility.escalationSlots(replicas);
        if (collateralMultiplier > multiple) multiple = collateralMultiplier;
        uint256 scaled = reward * multiple;
        uint256 collateral = scaled > minCollateral ? scaled : minCollateral;
        return (collateral + 1 gwei - 1) / 1 gwei * 1 gwei;
    }

    /// @notice Size of the committee drawn when a first committee of `replicas` does not agree.
    function escalationSlots(uint256 replicas) external pure returns (uint256) {
        return MarketEligibility.escalationSlots(replicas);
    }

    /// @notice The seal a worker commits: keccak256(abi.encode(jobId, worker, resultRoot, salt)).
    function sealOf(uint256 jobId, address worker, bytes32 resultRoot, bytes32 salt) external pure returns (bytes32) {
        return keccak256(abi.encode(jobId, worker, resultRoot, salt));
    }

    /// @notice The block whose hash seeds a round seeded at `seedBlock`, for a commit in block
    /// `blockNumber`: the seed block itself while its hash is readable (256 blocks), then the
    /// latest block `seedBlock + 256 k` before `blockNumber`.
    function seedBlockFor(uint256 seedBlock, uint256 blockNumber) public pure returns (uint256) {
        if (blockNumber - seedBlock <= 256) return seedBlock;
        return seedBlock + 256 * ((blockNumber - 1 - seedBlock) / 256);
    }

    /// @notice MarketEligibility.ticket, for off-chain checks and tests.
    function ticketOf(bytes32 seed, uint256 jobId, address worker) external pure returns (uint256) {
        return MarketEligibility.ticket(seed, jobId, worker);
    }

    /// @notice MarketEligibility.isEligible, for off-chain checks and tests (inputs as in commit:
    /// ticket < 2^128, stakes in gwei, window and elapsed in seconds).
    function isEligible(uint256 ticket, uint256 weightGwei, uint256 totalGwei, uint256 slots, uint256 elapsed, uint256 window)
        external
        pure
        returns (bool)
    {
        if (window > JobState.MAX_WINDOW) return false;
        return MarketEligibility.isEligible(ticket, weightGwei, totalGwei, slots, elapsed, window);
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

    /// @notice A job's state for workers and verifiers: status, parties, the current round and
    /// the consensus root.
    function getJob(uint256 jobId) external view returns (JobView memory view_) {
        Job storage job = _jobs[jobId];
        uint256 state = job.state;
        JobStatus status = JobState.status(state);
        (uint256 base, uint256 size) = _round(state);
        Tally memory tally = _tally(jobId, state, _positions(jobId, state, status));
        uint256 commitDeadline = JobState.roundStart(state) + JobState.commitWindow(state);
        view_.status = status;
        view_.requester = job.requester;
        view_.reward = JobState.rewardGwei(state) * 1 gwei;
        view_.collateral = status == JobStatus.None ? 0 : _collateralGwei(state) * 1 gwei;
        view_.replicas = status == JobStatus.None ? 0 : uint8(JobState.replicas(state));
        view_.quorum = job.quorum;
        view_.round = base == 0 ? 0 : 1;
        view_.roundSlots = uint8(size);
        view_.roundStart = uint40(JobState.roundStart(state));
        view_.commitDeadline = uint40(commitDeadline);
        view_.revealDeadline = uint40(commitDeadline + JobState.revealWindow(state));
        view_.seedBlock = status == JobStatus.None ? 0 : JobState.seedBlock(state);
        view_.seed = bytes32(uint256(job.seed));
        view_.committed = uint8(_committedIn(jobId, state, base, size));
        view_.revealed = uint8(status == JobStatus.Open || status == JobStatus.Escalated ? JobState.revealCount(state) : 0);
        view_.totalCommitted = uint8(tally.committed);
        view_.totalRevealed = uint8(tally.revealed);
        view_.consensusRoot = status == JobStatus.Finalized ? tally.root : bytes32(0);
    }

    /// @notice Every position of a job so far (first committee, then the escalation committee if
    /// one was drawn) with its worker, root and outcome.
    function getSlots(uint256 jobId) external view returns (SlotView[] memory views) {
        uint256 state = _jobs[jobId].state;
        JobStatus status = JobState.status(state);
        if (status == JobStatus.None) return views;
        uint256 replicas = JobState.replicas(state);
        uint256 end = _positions(jobId, state, status);
        Tally memory tally = _tally(jobId, state, end);
        bytes32 consensusRoot = status == JobStatus.Finalized ? tally.root : bytes32(0);
        views = new SlotView[](end);
        for (uint256 i; i < end; ++i) {
            bool committed = tally.workers[i] != address(0);
            bool revealed = tally.revealedMask & (1 << i) != 0;
            uint8 round = i < replicas ? 0 : 1;
            SlotOutcome outcome = SlotOutcome.Empty;
            if (committed) outcome = _outcome(status, revealed, tally.roots[i] == consensusRoot, round == 0 && status == JobStatus.Escalated);
            views[i] = SlotView({worker: tally.workers[i], round: round, committed: committed, revealed: revealed, root: tally.roots[i], outcome: outcome});
        }
    }

    /// @dev Positions a job has used: the first committee, and the escalation committee while it
    /// runs or once it committed anything (an escalation round nobody took adds only empty slots).
    function _positions(uint256 jobId, uint256 state, JobStatus status) private view returns (uint256) {
        if (status == JobStatus.None) return 0;
        uint256 replicas = JobState.replicas(state);
        uint256 slots = MarketEligibility.escalationSlots(replicas);
        if (status == JobStatus.Escalated) return replicas + slots;
        if (status != JobStatus.Open && _rosterAt(jobId, state, replicas) != 0) return replicas + slots;
        return replicas;
    }

    /// @dev The round's seed: stored by its first commit, which reads the hash of the seed block
    /// (or, past 256 blocks, of the latest anchor: seedBlockFor), so one seed holds for the whole
    /// round however many blocks it lasts. Never readable in the seed block itself. Kept as its low
    /// 88 bits (one word with the requester); the lowest bit is forced to 1 so a stored seed is never 0.
    function _roundSeed(Job storage job, uint256 jobId, uint256 seedBlock) private returns (bytes32) {
        uint256 seed = job.seed;
        if (seed == 0) {
            if (block.number <= seedBlock) revert MarketSeedNotReady(jobId, seedBlock + 1);
            seed = uint88(uint256(blockhash(seedBlockFor(seedBlock, block.number)))) | 1;
            job.seed = uint88(seed);
        }
        return bytes32(seed);
    }

    function _collateralGwei(uint256 state) internal view override returns (uint256) {
        return collateralFor(JobState.rewardGwei(state) * 1 gwei, JobState.replicas(state)) / 1 gwei;
    }

    function _outcome(JobStatus status, bool revealed, bool agrees, bool pastRound) private pure returns (SlotOutcome) {
        if (status == JobStatus.Open || status == JobStatus.Escalated) {
            if (revealed) return SlotOutcome.Revealed;
            return pastRound ? SlotOutcome.NotRevealed : SlotOutcome.Committed;
        }
        if (!revealed) return SlotOutcome.NotRevealed;
        if (status == JobStatus.Finalized) return agrees ? SlotOutcome.Won : SlotOutcome.Dissented;
        return SlotOutcome.Released;
    }
}
