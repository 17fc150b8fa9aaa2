// SPDX-License-Identifier: MIT
// Test-only attacker: a worker contract whose receive() re-enters the market when it is paid,
// so the tests can show that no payout can be drained twice. Never deployed outside tests.
pragma solidity 0.8.28;

interface IMarket {
    function stake() external payable;
    function commit(uint256 jobId, bytes32 seal) external;
    function reveal(uint256 jobId, bytes32 resultRoot, bytes32 salt) external;
    function finalize(uint256 jobId) external;
    function withdraw() external;
    function requestUnstake(uint256 amount) external;
    function withdrawStake() external;
}

/// @title Re-entering worker (test helper)
/// @notice Acts as a worker; when paid it calls back into the market once and records the result.
contract ReentrantWorker {
    IMarket public immutable market;
    /// @notice Calls made from receive(); a successful one would be a reentrancy bug.
    uint256 public reentrySucceeded;
    /// @notice Revert data of the last blocked re-entry (expected: ReentrancyGuardReentrantCall).
    bytes public lastReentryError;
    /// @notice Which function receive() re-enters: 0 none, 1 withdraw, 2 withdrawStake, 3 finalize.
    uint8 public attack;
    uint256 public attackJobId;

    constructor(IMarket market_) {
        market = market_;
    }

    function setAttack(uint8 attack_, uint256 jobId) external {
        attack = attack_;
        attackJobId = jobId;
    }

    function stake() external payable {
        market.stake{value: msg.value}();
    }

    function commit(uint256 jobId, bytes32 seal) external {
        market.commit(jobId, seal);
    }

    function reveal(uint256 jobId, bytes32 resultRoot, bytes32 salt) external {
        market.reveal(jobId, resultRoot, salt);
    }

    function withdraw() external {
        market.withdraw();
    }

    function requestUnstake(uint256 amount) external {
        market.requestUnstake(amount);
    }

    function withdrawStake() external {
        market.withdrawStake();
    }

    receive() external payable {
        if (msg.sender != address(market) || attack == 0) return;
        uint8 mode = attack;
        attack = 0; // one attempt per payment
        if (mode == 1) {
            try market.withdraw() { ++reentrySucceeded; } catch (bytes memory reason) { lastReentryError = reason; }
        } else if (mode == 2) {
            try market.withdrawStake() { ++reentrySucceeded; } catch (bytes memory reason) { lastReentryError = reason; }
        } else {
            try market.finalize(attackJobId) { ++reentrySucceeded; } catch (bytes memory reason) { lastReentryError = reason; }
        }
    }
}
