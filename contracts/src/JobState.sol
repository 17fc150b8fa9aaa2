// SPDX-License-Identifier: MIT
// Bit layout of a job's hot storage word (Job.state): everything commit and reveal read, and the
// part of the roster commit writes, so each of them loads and stores one job word.
pragma solidity 0.8.28;

import {JobStatus} from "./MarketTypes.sol";

/// @title Job state word
/// @notice Fields, lowest bits first:
/// roster (3 x 32: worker indices of positions 0-2, 0 = empty) | rewardGwei (40, per slot) |
/// roundStart (34, unix seconds) | commitWindow (22) | revealWindow (22) |
/// seedBlock (30: the low bits of the block whose hash seeds the current round) |
/// revealCount (5: reveals in the current round) | replicas - 1 (4) | status (3).
/// Bounds: reward < 2^40 gwei (1,099 ETH a slot, postJob refuses more), timestamps < 2^34 (year 2514),
/// windows < 2^22 s (48 days; the constructor allows at most 30), a seed block is found again from
/// its low 30 bits as long as it is less than 2^30 blocks old (years on any chain), rounds hold at
/// most 31 slots, replicas <= 16, and 6 statuses.
library JobState {
    uint256 internal constant ROSTER_HEAD = 3;
    uint256 private constant REWARD_SHIFT = 96;
    uint256 private constant ROUND_START_SHIFT = 136;
    uint256 private constant COMMIT_WINDOW_SHIFT = 170;
    uint256 private constant REVEAL_WINDOW_SHIFT = 192;
    uint256 private constant SEED_BLOCK_SHIFT = 214;
    uint256 private constant REVEAL_COUNT_SHIFT = 244;
    uint256 private constant REPLICAS_SHIFT = 249;
    uint256 private constant STATUS_SHIFT = 253;

    uint256 internal constant MAX_REWARD_GWEI = (1 << 40) - 1;
    uint256 internal constant MAX_WINDOW = (1 << 22) - 1;
    uint256 private constant SEED_BLOCK_MASK = (1 << 30) - 1;

    /// @notice The state word of a freshly posted job (status Open, its first round starting now).
    function posted(uint256 replicas, uint256 rewardGwei, uint256 commitWindow, uint256 revealWindow)
        internal
        view
        returns (uint256)
    {
        return (rewardGwei << REWARD_SHIFT) | (block.timestamp << ROUND_START_SHIFT)
            | (commitWindow << COMMIT_WINDOW_SHIFT) | (revealWindow << REVEAL_WINDOW_SHIFT)
            | ((block.number & SEED_BLOCK_MASK) << SEED_BLOCK_SHIFT) | ((replicas - 1) << REPLICAS_SHIFT)
            | (uint256(JobStatus.Open) << STATUS_SHIFT);
    }

    /// @notice The state word after escalation: status Escalated, a new round starting now, seeded
    /// by this block, no reveals yet; the roster head and the windows stay.
    function escalated(uint256 state) internal view returns (uint256) {
        uint256 kept = (state & ((1 << ROUND_START_SHIFT) - 1)) // roster and reward
            | (state & (((1 << 44) - 1) << COMMIT_WINDOW_SHIFT)) // both windows
            | (state & (uint256(15) << REPLICAS_SHIFT));
        return kept | (block.timestamp << ROUND_START_SHIFT) | ((block.number & SEED_BLOCK_MASK) << SEED_BLOCK_SHIFT)
            | (uint256(JobStatus.Escalated) << STATUS_SHIFT);
    }

    function status(uint256 state) internal pure returns (JobStatus) {
        return JobStatus(state >> STATUS_SHIFT);
    }

    function withStatus(uint256 state, JobStatus status_) internal pure returns (uint256) {
        return (state & ~(uint256(7) << STATUS_SHIFT)) | (uint256(status_) << STATUS_SHIFT);
    }

    function replicas(uint256 state) internal pure returns (uint256) {
        return ((state >> REPLICAS_SHIFT) & 15) + 1;
    }

    function revealCount(uint256 state) internal pure returns (uint256) {
        return (state >> REVEAL_COUNT_SHIFT) & 31;
    }

    function withRevealCount(uint256 state, uint256 count) internal pure returns (uint256) {
        return (state & ~(uint256(31) << REVEAL_COUNT_SHIFT)) | (count << REVEAL_COUNT_SHIFT);
    }

    function rewardGwei(uint256 state) internal pure returns (uint256) {
        return (state >> REWARD_SHIFT) & MAX_REWARD_GWEI;
    }

    function roundStart(uint256 state) internal pure returns (uint256) {
        return (state >> ROUND_START_SHIFT) & ((1 << 34) - 1);
    }

    function commitWindow(uint256 state) internal pure returns (uint256) {
        return (state >> COMMIT_WINDOW_SHIFT) & MAX_WINDOW;
    }

    function revealWindow(uint256 state) internal pure returns (uint256) {
        return (state >> REVEAL_WINDOW_SHIFT) & MAX_WINDOW;
    }

    /// @notice The current round's seed block, found again from its low 30 bits: the most recent
    /// block number at or before this one with those bits.
    function seedBlock(uint256 state) internal view returns (uint256) {
        uint256 low = (state >> SEED_BLOCK_SHIFT) & SEED_BLOCK_MASK;
        return block.number - ((block.number - low) & SEED_BLOCK_MASK);
    }

    /// @notice Worker index at a roster head position (0-2); 0 = empty.
    function rosterHead(uint256 state, uint256 position) internal pure returns (uint256) {
        return uint32(state >> (32 * position));
    }

    function withRosterHead(uint256 state, uint256 position, uint256 workerIndex) internal pure returns (uint256) {
        return state | (workerIndex << (32 * position));
    }
}
