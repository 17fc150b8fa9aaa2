// SPDX-License-Identifier: MIT
// How a round of a Sandrun job ends: the unanimous first committee finalizes; dissent, silence or a
// root short of quorum draws a fresh, larger committee; after it the majority of all reveals
// decides. Only the losers of the final decision are slashed, and their collateral pays the extra
// committee before anybody else.
pragma solidity 0.8.28;

import {MarketEligibility} from "./MarketEligibility.sol";
import {MarketStaking} from "./MarketStaking.sol";
import {JobState} from "./JobState.sol";
import {Account, Job, JobStatus, SlotOutcome} from "./MarketTypes.sol";

/// @title Sandrun market settlement
/// @dev Storage per job: two job words, one word per slot keyed by (job, worker) and, past
/// JobState.ROSTER_HEAD positions, packed roster words (8 worker indices each). A slot word holds
/// the seal's top 224 bits with a tag and the slot position in the low 32 bits until reveal, then
/// the full revealed root, so a reveal overwrites a word instead of filling a new one. A root that
/// would look like a sealed word (or is 0 or 1) is kept in `_tagLikeRoots` and its slot word says
/// so with ROOT_ELSEWHERE, so a revealed slot can never pass for a sealed one. Positions 0 to
/// replicas - 1 are the first committee, the escalation committee follows them.
abstract contract MarketSettlement is MarketStaking {
    /// @notice Most replicas one job may ask for; with MAX_ESCALATION_SLOTS it bounds every loop.
    uint256 public constant MAX_REPLICAS = 16;
    /// @dev Positions past the roster head a job can have: MAX_REPLICAS + MAX_ESCALATION_SLOTS
    /// (16 + 31) less JobState.ROSTER_HEAD (3); a literal because array lengths must be.
    uint256 private constant ROSTER_TAIL_LENGTH = 44;
    /// @dev The part of a slot word that holds the seal (its top 224 bits).
    bytes32 internal constant SEAL_MASK = ~bytes32(uint256(type(uint32).max));
    /// @dev Bits 8-31 of a sealed slot word; bits 0-7 hold the slot position.
    uint256 internal constant SEALED_TAG = 0x5EA1ED00;
    uint256 private constant SEALED_TAG_MASK = 0xFFFFFF00;
    /// @dev Slot word of a revealed root that must not be stored as itself (see contract @dev).
    bytes32 internal constant ROOT_ELSEWHERE = bytes32(uint256(1));
    /// @dev Where collateral that nobody may have goes: an account no key controls.
    address internal constant BURN = address(0);

    mapping(uint256 jobId => Job) internal _jobs;
    mapping(uint256 jobId => mapping(address worker => bytes32)) internal _slotWords;
    mapping(uint256 jobId => mapping(address worker => bytes32)) internal _tagLikeRoots;
    mapping(uint256 jobId => uint32[ROSTER_TAIL_LENGTH]) internal _rosterTail;

    /// @dev A job's slots as settlement and the views see them, and its most frequent revealed root.
    struct Tally {
        address[] workers; // per position; zero for an empty slot
        bytes32[] roots; // revealed root, or the truncated seal of an unrevealed slot
        uint256 revealedMask; // bit i set when position i revealed
        uint256 committed;
        uint256 revealed;
        bytes32 root; // the Boyer-Moore candidate: the majority root if there is one
        uint256 votes; // revealed slots whose root equals `root`
    }

    /// @notice The first committee did not agree (or stayed silent, or fell short of quorum): a
    /// fresh committee of `slots` is drawn with the hash of this block as its seed.
    event JobEscalated(uint256 indexed jobId, uint256 slots, uint256 seedBlock, uint40 commitDeadline, uint40 revealDeadline);
    /// @notice The job reached a terminal state (Finalized, Inconclusive or Expired). `outcomes`
    /// packs each position's SlotOutcome in 4 bits, position 0 lowest (getSlots names the workers).
    /// Finalized: every Won slot was credited `payout` (reward plus its share of the slashed
    /// collateral left after paying the escalation committee). Inconclusive: every Released slot
    /// was credited `payout` (its share of the no-shows' collateral). Every Dissented or
    /// NotRevealed slot lost the job's collateral, `slashed` in total.
    event JobFinalized(
        uint256 indexed jobId, JobStatus status, bytes32 consensusRoot, uint256 outcomes, uint256 payout, uint256 slashed
    );
    /// @notice `amount` of unused escrow (unfilled or losing first-committee slots, or all of it
    /// when the job expired or was inconclusive) was credited back to the requester.
    event RequesterRefunded(uint256 indexed jobId, address indexed requester, uint256 amount);
    /// @notice `amount` of slashed collateral had nobody to go to (division dust, or no-shows when
    /// nobody revealed) and was credited to the zero address, where nobody can withdraw it.
    event CollateralBurned(uint256 indexed jobId, uint256 amount);

    /// @dev Collateral (gwei) one slot of the job with this state word locks (SandrunMarket.collateralFor).
    function _collateralGwei(uint256 state) internal view virtual returns (uint256);

    /// @dev First position and size of the current round's committee.
    function _round(uint256 state) internal pure returns (uint256 base, uint256 size) {
        uint256 replicas = JobState.replicas(state);
        if (JobState.status(state) == JobStatus.Escalated) return (replicas, MarketEligibility.escalationSlots(replicas));
        return (0, replicas);
    }

    /// @dev Ends the current round: finalize, escalate, or decide inconclusive.
    function _closeRound(Job storage job, uint256 jobId) internal {
        uint256 state = job.state;
        (uint256 base, uint256 size) = _round(state);
        Tally memory tally = _tally(jobId, state, base + size);
        uint256 quorum = job.quorum;
        bool unanimous = tally.revealed != 0 && tally.votes == tally.revealed;
        if (JobState.status(state) == JobStatus.Open) {
            if (unanimous && tally.votes >= quorum) return _settleConsensus(job, jobId, state, tally);
            // Agreeing but too few, and nobody silent whose collateral could pay a second committee.
            if (unanimous && tally.revealed == tally.committed) return _settleInconclusive(job, jobId, state, tally);
            return _escalate(job, jobId, state);
        }
        if (tally.votes * 2 > tally.revealed && tally.votes >= quorum) return _settleConsensus(job, jobId, state, tally);
        _settleInconclusive(job, jobId, state, tally);
    }

    function _escalate(Job storage job, uint256 jobId, uint256 state) private {
        uint256 next = JobState.escalated(state);
        job.state = next;
        job.seed = 0; // the escalation committee's first commit stores its own seed
        uint256 commitDeadline = block.timestamp + JobState.commitWindow(next);
        emit JobEscalated(
            jobId,
            MarketEligibility.escalationSlots(JobState.replicas(next)),
            block.number,
            uint40(commitDeadline),
            uint40(commitDeadline + JobState.revealWindow(next))
        );
    }

    /// @dev Winners get the reward and an equal share of what the losers' collateral leaves after
    /// paying each escalation-committee winner its reward; losers lose their collateral; the
    /// rewards of first-committee slots that did not win go back to the requester.
    function _settleConsensus(Job storage job, uint256 jobId, uint256 state, Tally memory tally) private {
        uint256 replicas = JobState.replicas(state);
        uint256 reward = JobState.rewardGwei(state) * 1 gwei;
        uint256 collateralGwei = _collateralGwei(state);
        (uint256 firstWinners, uint256 laterWinners) = _countWinners(tally, replicas);
        uint256 winners = firstWinners + laterWinners;
        uint256 losers = tally.committed - winners;
        uint256 slashed = collateralGwei * 1 gwei * losers;
        // The collateral covers a whole escalation committee (collateralFor), and an escalated job
        // that reaches consensus always has a loser: the pool never runs short.
        uint256 pool = slashed - laterWinners * reward;
        uint256 share = pool / winners;
        uint256 payout = reward + share;
        job.state = JobState.withStatus(state, JobStatus.Finalized);
        uint256 outcomes = _settleSlots(tally, collateralGwei, true, payout);
        if (losers != 0) _totals.stakedGwei -= uint64(collateralGwei * losers);
        emit JobFinalized(jobId, JobStatus.Finalized, tally.root, outcomes, payout, slashed);
        if (firstWinners < replicas) _refund(jobId, job.requester, reward * (replicas - firstWinners));
        if (pool != share * winners) _burn(jobId, pool - share * winners);
    }

    /// @dev No root won: the requester gets the whole escrow back, revealers get their collateral
    /// unlocked and share the no-shows' collateral (never the requester, who could otherwise take a
    /// slot with an address it controls, stay silent and get the collateral back).
    function _settleInconclusive(Job storage job, uint256 jobId, uint256 state, Tally memory tally) private {
        uint256 collateralGwei = _collateralGwei(state);
        uint256 silent = tally.committed - tally.revealed;
        uint256 slashed = collateralGwei * 1 gwei * silent;
        uint256 share = tally.revealed == 0 ? 0 : slashed / tally.revealed;
        job.state = JobState.withStatus(state, JobStatus.Inconclusive);
        uint256 outcomes = _settleSlots(tally, collateralGwei, false, share);
        if (silent != 0) _totals.stakedGwei -= uint64(collateralGwei * silent);
        emit JobFinalized(jobId, JobStatus.Inconclusive, bytes32(0), outcomes, share, slashed);
        _refund(jobId, job.requester, JobState.rewardGwei(state) * 1 gwei * JobState.replicas(state));
        if (slashed != share * tally.revealed) _burn(jobId, slashed - share * tally.revealed);
    }

    /// @dev Nobody committed before the first commit deadline: the escrow goes back.
    function _expire(Job storage job, uint256 jobId, uint256 state) internal {
        job.state = JobState.withStatus(state, JobStatus.Expired);
        emit JobFinalized(jobId, JobStatus.Expired, bytes32(0), 0, 0, 0);
        _refund(jobId, job.requester, JobState.rewardGwei(state) * 1 gwei * JobState.replicas(state));
    }

    /// @dev Pays or slashes every committed slot and returns the packed outcomes. With a consensus,
    /// slots that revealed the winning root are Won and paid `payment`, the others Dissented or
    /// NotRevealed and slashed; without one, revealers are Released and paid `payment`, silent slots
    /// slashed.
    function _settleSlots(Tally memory tally, uint256 collateralGwei, bool consensus, uint256 payment) private returns (uint256 outcomes) {
        for (uint256 i; i < tally.workers.length; ++i) {
            if (tally.workers[i] == address(0)) continue;
            Account storage account = _accounts[tally.workers[i]];
            bool revealed = tally.revealedMask & (1 << i) != 0;
            SlotOutcome outcome;
            if (revealed && (!consensus || tally.roots[i] == tally.root)) {
                outcome = consensus ? SlotOutcome.Won : SlotOutcome.Released;
                _release(account, collateralGwei, payment);
            } else {
                outcome = revealed ? SlotOutcome.Dissented : SlotOutcome.NotRevealed;
                _slash(account, collateralGwei);
            }
            outcomes |= uint256(outcome) << (4 * i);
        }
    }

    function _countWinners(Tally memory tally, uint256 replicas) private pure returns (uint256 first, uint256 later) {
        for (uint256 i; i < tally.workers.length; ++i) {
            if (tally.revealedMask & (1 << i) == 0 || tally.roots[i] != tally.root) continue;
            if (i < replicas) ++first;
            else ++later;
        }
    }

    function _refund(uint256 jobId, address requester, uint256 amount) private {
        _credit(_accounts[requester], amount);
        emit RequesterRefunded(jobId, requester, amount);
    }

    function _burn(uint256 jobId, uint256 amount) private {
        _credit(_accounts[BURN], amount);
        emit CollateralBurned(jobId, amount);
    }

    /// @dev Reads positions 0 to `end` - 1 and finds the most frequent revealed root. A root that
    /// wins has a strict majority of the revealed roots (unanimity or the final majority), so the
    /// Boyer-Moore majority vote finds it in the same pass; a second pass over memory counts it.
    function _tally(uint256 jobId, uint256 state, uint256 end) internal view returns (Tally memory tally) {
        tally.workers = new address[](end);
        tally.roots = new bytes32[](end);
        mapping(address => bytes32) storage slotWords = _slotWords[jobId];
        uint256 lead;
        for (uint256 i; i < end; ++i) {
            uint256 workerIndex = _rosterAt(jobId, state, i);
            if (workerIndex == 0) continue;
            address worker = _workers[workerIndex];
            bytes32 word = slotWords[worker];
            tally.workers[i] = worker;
            ++tally.committed;
            if (_isSealed(word)) {
                tally.roots[i] = word & SEAL_MASK;
                continue;
            }
            bytes32 root = word == ROOT_ELSEWHERE ? _tagLikeRoots[jobId][worker] : word;
            tally.roots[i] = root;
            tally.revealedMask |= 1 << i;
            ++tally.revealed;
            if (lead == 0) {
                tally.root = root;
                lead = 1;
            } else if (root == tally.root) {
                ++lead;
            } else {
                --lead;
            }
        }
        for (uint256 i; i < end; ++i) {
            if (tally.revealedMask & (1 << i) != 0 && tally.roots[i] == tally.root) ++tally.votes;
        }
    }

    /// @dev Worker index of the slot at `position` (0 = empty); `state` is the job's state word.
    function _rosterAt(uint256 jobId, uint256 state, uint256 position) internal view returns (uint256) {
        if (position < JobState.ROSTER_HEAD) return JobState.rosterHead(state, position);
        return _rosterTail[jobId][position - JobState.ROSTER_HEAD];
    }

    /// @dev Committed slots of the round starting at `base` (a round fills in position order).
    function _committedIn(uint256 jobId, uint256 state, uint256 base, uint256 size) internal view returns (uint256 count) {
        while (count < size && _rosterAt(jobId, state, base + count) != 0) ++count;
    }

    /// @dev True for a slot word that still holds a seal.
    function _isSealed(bytes32 word) internal pure returns (bool) {
        return uint256(word) & SEALED_TAG_MASK == SEALED_TAG;
    }
}
