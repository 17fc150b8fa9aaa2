// SPDX-License-Identifier: MIT
// Who may take a slot of a committee: a worker is eligible when its ticket, a hash of (round seed,
// job, worker), falls under a threshold proportional to its stake that widens over the commit
// window. node/chain/eligibility.ts mirrors these functions bit for bit (a test compares them).
pragma solidity 0.8.28;

/// @title Committee eligibility
/// @notice With stake w of a total T and a committee of n slots, a worker is eligible `elapsed`
/// seconds into a commit window of W seconds with probability min(1, E(t) * w / T), where
/// t = elapsed - W/8 and E(t) = (3/8) * n * 2^(8t/W) is the expected number of eligible workers.
/// Nobody may commit in the first W/8 seconds: honest workers run the job in that time, so a bot
/// that commits without running gains nothing from its speed. E(t) starts at 3/8 of the committee,
/// so an attacker rarely fills every slot from the first draw, and doubles every W/8 seconds, so a
/// small network is fully eligible within the window. The threshold is linear in stake: an
/// operator's expected number of eligible addresses is E(t) * stake / T however it splits its stake.
library MarketEligibility {
    /// @dev Eligibility starts at INITIAL_NUMERATOR / INITIAL_DENOMINATOR of the committee size.
    uint256 internal constant INITIAL_NUMERATOR = 3;
    uint256 internal constant INITIAL_DENOMINATOR = 8;
    /// @dev The commit window is cut into this many doubling periods; the first one is the delay.
    uint256 internal constant DOUBLINGS_PER_WINDOW = 8;
    /// @dev Fixed-point fraction bits of the widening factor.
    uint256 private constant FRACTION_BITS = 16;
    /// @dev Largest committee of an escalation round; bounds every loop with MAX_REPLICAS.
    uint256 internal constant MAX_ESCALATION_SLOTS = 31;

    /// @notice The worker's ticket for a round: the top 128 bits of keccak256(seed, jobId, worker).
    function ticket(bytes32 seed, uint256 jobId, address worker) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, jobId, worker))) >> 128;
    }

    /// @notice Seconds into the commit window before anyone may commit (the honest run time allowance).
    function commitDelay(uint256 window) internal pure returns (uint256) {
        return window / DOUBLINGS_PER_WINDOW;
    }

    /// @notice Whether a ticket is eligible `elapsed` seconds into a commit window of `window`
    /// seconds, for a worker with `weightGwei` of `totalGwei` staked and a committee of `slots`.
    function isEligible(uint256 ticket_, uint256 weightGwei, uint256 totalGwei, uint256 slots, uint256 elapsed, uint256 window)
        internal
        pure
        returns (bool)
    {
        uint256 delay = commitDelay(window);
        if (elapsed < delay || weightGwei == 0 || window == 0) return false;
        if (elapsed > window) elapsed = window;
        // 2^(8t/W) as a 16-bit fixed point, linear between powers of two (monotone, exact in integers);
        // t <= 7W/8, so the factor stays under 2^24.
        uint256 q = ((elapsed - delay) << (FRACTION_BITS + 3)) / window;
        uint256 factor = ((uint256(1) << FRACTION_BITS) + (q & ((uint256(1) << FRACTION_BITS) - 1))) << (q >> FRACTION_BITS);
        // ticket / 2^128 < (3/8) * slots * factor / 2^16 * weight / total, without division. In the
        // market both sides stay under 2^212 (ticket < 2^128, total < 2^64, weight < 2^48); the
        // multiplications are checked, so absurd inputs to the pure view revert instead of wrapping.
        return ticket_ * totalGwei * (INITIAL_DENOMINATOR << FRACTION_BITS)
            < INITIAL_NUMERATOR * slots * factor * weightGwei * (uint256(1) << 128);
    }

    /// @notice Size of the committee drawn when the first one disagrees: three times the first,
    /// at most MAX_ESCALATION_SLOTS, so the honest majority of the stake outvotes a minority that
    /// took several first-round slots.
    function escalationSlots(uint256 replicas) internal pure returns (uint256) {
        uint256 slots = 3 * replicas;
        return slots > MAX_ESCALATION_SLOTS ? MAX_ESCALATION_SLOTS : slots;
    }
}
