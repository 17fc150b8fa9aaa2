// SPDX-License-Identifier: MIT
// Staking and balances of the Sandrun market: workers stake ETH behind their libp2p peer id, the
// job market locks part of it per slot, and everybody withdraws credited balances (pull payments).
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Account, AccountView} from "./MarketTypes.sol";

/// @title Sandrun market staking
/// @notice Holds stakes, unbonding stakes and credited balances. Collateral locked by open jobs
/// is part of `staked` but can be neither unstaked nor withdrawn until the job settles. Every
/// staker gets a compact worker index at its first stake, so a job can list its workers in
/// 32 bits each instead of a storage word each.
abstract contract MarketStaking is ReentrancyGuardTransient {
    /// @notice Longest accepted libp2p peer id (bytes); real ones are 38-39 bytes.
    uint256 public constant MAX_PEER_ID_LENGTH = 128;

    /// @notice Seconds between `requestUnstake` and `withdrawStake`.
    uint256 public immutable unbondingPeriod;

    /// @notice Number of worker indices given out; indices run from 1 to workerCount.
    uint256 public workerCount;

    mapping(address account => Account) internal _accounts;
    mapping(address worker => bytes) private _peerIds;
    mapping(uint256 workerIndex => address worker) internal _workers;

    /// @notice The call sent no ETH or asked for a zero amount.
    error MarketZeroAmount();
    /// @notice A stake or balance would exceed what its storage field holds.
    error MarketAmountTooLarge(uint256 amount, uint256 max);
    /// @notice The peer id is longer than MAX_PEER_ID_LENGTH bytes.
    error MarketPeerIdTooLong(uint256 length, uint256 max);
    /// @notice Only `free` wei of the stake is not locked by open jobs.
    error MarketStakeLocked(uint256 requested, uint256 free);
    /// @notice The unbonding stake becomes withdrawable at `unbondingEnd` (unix seconds).
    error MarketStillUnbonding(uint256 unbondingEnd);
    /// @notice There is no balance (or unbonded stake) to withdraw.
    error MarketNothingToWithdraw();
    /// @notice `worker` has only `free` unlocked stake but the slot needs `required`.
    error MarketInsufficientFreeStake(address worker, uint256 free, uint256 required);

    /// @notice `worker` staked for the first time and was given `workerIndex`.
    event WorkerRegistered(address indexed worker, uint256 workerIndex);
    /// @notice `worker` added `amount` to its stake, now `staked`; `peerId` is empty if unchanged.
    event Staked(address indexed worker, uint256 amount, uint256 staked, bytes peerId);
    /// @notice `worker` moved `amount` of free stake into unbonding until `unbondingEnd`.
    event UnstakeRequested(address indexed worker, uint256 amount, uint256 unbondingEnd);
    /// @notice `worker` withdrew `amount` of unbonded stake.
    event StakeWithdrawn(address indexed worker, uint256 amount);
    /// @notice `account` withdrew its credited balance of `amount`.
    event Withdrawn(address indexed account, uint256 amount);

    constructor(uint256 unbondingPeriod_) {
        unbondingPeriod = unbondingPeriod_;
    }

    /// @notice Add `msg.value` to the caller's stake and optionally (re)register its libp2p peer id.
    /// The first stake also gives the caller its worker index.
    /// @param peerId Binary libp2p peer id; pass empty bytes to keep the registered one.
    function stake(bytes calldata peerId) external payable nonReentrant {
        if (msg.value == 0) revert MarketZeroAmount();
        if (peerId.length > MAX_PEER_ID_LENGTH) revert MarketPeerIdTooLong(peerId.length, MAX_PEER_ID_LENGTH);
        Account storage account = _accounts[msg.sender];
        uint256 staked = uint256(account.staked) + msg.value;
        if (staked > type(uint80).max) revert MarketAmountTooLarge(staked, type(uint80).max);
        account.staked = uint80(staked);
        if (account.workerIndex == 0) {
            // 2^32 indices outlast any market: each costs a stake transaction, so using them up
            // would take over 4 billion of them; SafeCast stops the impossible wrap-around.
            uint256 workerIndex = ++workerCount;
            account.workerIndex = SafeCast.toUint32(workerIndex);
            _workers[workerIndex] = msg.sender;
            emit WorkerRegistered(msg.sender, workerIndex);
        }
        if (peerId.length != 0) _peerIds[msg.sender] = peerId;
        emit Staked(msg.sender, msg.value, staked, peerId);
    }

    /// @notice Start unbonding `amount` of free stake. Restarts the unbonding clock for the whole
    /// unbonding amount, so a worker cannot pre-age stake it is about to misuse.
    function requestUnstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert MarketZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint256 free = account.staked - _locked(account);
        if (amount > free) revert MarketStakeLocked(amount, free);
        uint256 unbondingEnd = block.timestamp + unbondingPeriod;
        account.staked -= uint80(amount);
        account.unbonding += uint96(amount); // fits: amount <= staked < 2^80
        account.unbondingEnd = uint64(unbondingEnd);
        emit UnstakeRequested(msg.sender, amount, unbondingEnd);
    }

    /// @notice Withdraw the whole unbonding amount once the unbonding period has passed.
    function withdrawStake() external nonReentrant {
        Account storage account = _accounts[msg.sender];
        uint256 amount = account.unbonding;
        if (amount == 0) revert MarketNothingToWithdraw();
        if (block.timestamp < account.unbondingEnd) revert MarketStillUnbonding(account.unbondingEnd);
        account.unbonding = 0;
        account.unbondingEnd = 0;
        emit StakeWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    /// @notice Withdraw the caller's credited balance (rewards, refunds, slashing shares).
    function withdraw() external nonReentrant {
        Account storage account = _accounts[msg.sender];
        uint256 amount = account.balance;
        if (amount == 0) revert MarketNothingToWithdraw();
        account.balance = 0;
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    /// @notice Stake, locked collateral, unbonding stake and credited balance of `account` (wei),
    /// and its worker index (0 if it never staked).
    function accountOf(address account) external view returns (AccountView memory) {
        Account storage a = _accounts[account];
        return AccountView({
            staked: a.staked,
            locked: _locked(a),
            balance: a.balance,
            unbonding: a.unbonding,
            unbondingEnd: a.unbondingEnd,
            workerIndex: a.workerIndex
        });
    }

    /// @notice The address that holds worker index `workerIndex` (zero address if none).
    function workerAt(uint256 workerIndex) external view returns (address) {
        return _workers[workerIndex];
    }

    /// @notice The libp2p peer id `worker` registered with its stake (empty if none).
    function peerIdOf(address worker) external view returns (bytes memory) {
        return _peerIds[worker];
    }

    /// @dev Lock `collateral` (whole gwei) of the worker's free stake and return the worker's
    /// index; reverts when the free stake is too small.
    function _lock(address worker, uint256 collateral) internal returns (uint32 workerIndex) {
        Account storage account = _accounts[worker];
        uint256 free = account.staked - _locked(account);
        if (collateral > free) revert MarketInsufficientFreeStake(worker, free, collateral);
        // fits: locked + collateral <= staked < 2^80 wei < 2^56 gwei
        account.lockedGwei += uint56(collateral / 1 gwei);
        // A worker with free stake has staked, so it has an index.
        return account.workerIndex;
    }

    /// @dev Unlock `collateral` and credit `payment`: one storage write for a paid worker.
    function _release(Account storage account, uint256 collateral, uint256 payment) internal {
        account.lockedGwei -= uint56(collateral / 1 gwei);
        if (payment != 0) _credit(account, payment);
    }

    /// @dev Unlock `collateral` and take it from the stake: the worker loses it.
    function _slash(Account storage account, uint256 collateral) internal {
        account.lockedGwei -= uint56(collateral / 1 gwei);
        account.staked -= uint80(collateral);
    }

    /// @dev Credit `amount` to `account`'s withdrawable balance.
    function _credit(Account storage account, uint256 amount) internal {
        account.balance = SafeCast.toUint88(uint256(account.balance) + amount);
    }

    function _locked(Account storage account) internal view returns (uint256) {
        return uint256(account.lockedGwei) * 1 gwei;
    }
}
