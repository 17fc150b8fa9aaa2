// SPDX-License-Identifier: MIT
// Staking and balances of the Sandrun market: workers stake ETH (the weight of their committee
// eligibility), register the libp2p peer id that serves their results, the job market locks part
// of the stake per slot, and everybody withdraws credited balances (pull payments).
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Account, AccountView, MarketTotals} from "./MarketTypes.sol";

/// @title Sandrun market staking
/// @notice Holds stakes, unbonding stakes and credited balances. Stake is kept in whole gwei; the
/// sub-gwei rest of a deposit is credited to the balance. Collateral locked by open jobs is part of
/// the stake and can be neither unstaked nor withdrawn until the job settles, so it stays slashable
/// for every job committed before an unstake request. Every staker gets a compact worker index at
/// its first stake, so a job can list its workers in 32 bits each instead of a storage word each.
abstract contract MarketStaking is ReentrancyGuardTransient {
    /// @notice Longest accepted libp2p peer id (bytes); real ones are 38-39 bytes.
    uint256 public constant MAX_PEER_ID_LENGTH = 128;
    /// @notice Length of the Ed25519 signature that binds a peer id to its account.
    uint256 public constant PEER_SIGNATURE_LENGTH = 64;

    /// @notice Seconds between `requestUnstake` and `withdrawStake`.
    uint256 public immutable unbondingPeriod;

    MarketTotals internal _totals;
    mapping(address account => Account) internal _accounts;
    mapping(address worker => bytes) private _peerIds;
    mapping(address worker => bytes) private _peerSignatures;
    mapping(uint256 workerIndex => address worker) internal _workers;

    /// @notice The call sent no ETH or asked for a zero amount.
    error MarketZeroAmount();
    /// @notice A stake or balance would exceed what its storage field holds.
    error MarketAmountTooLarge(uint256 amount, uint256 max);
    /// @notice The peer id is longer than MAX_PEER_ID_LENGTH bytes.
    error MarketPeerIdTooLong(uint256 length, uint256 max);
    /// @notice The peer signature must be PEER_SIGNATURE_LENGTH bytes (Ed25519).
    error MarketPeerSignatureInvalid(uint256 length);
    /// @notice Only `free` wei of the stake is not locked by open jobs.
    error MarketStakeLocked(uint256 requested, uint256 free);
    /// @notice Stake moves in whole gwei; `amount` is not a multiple of 1 gwei.
    error MarketNotWholeGwei(uint256 amount);
    /// @notice The unbonding stake becomes withdrawable at `unbondingEnd` (unix seconds).
    error MarketStillUnbonding(uint256 unbondingEnd);
    /// @notice There is no balance (or unbonded stake) to withdraw.
    error MarketNothingToWithdraw();
    /// @notice `worker` has only `free` unlocked stake but the slot needs `required`.
    error MarketInsufficientFreeStake(address worker, uint256 free, uint256 required);

    /// @notice `worker` staked for the first time and was given `workerIndex`.
    event WorkerRegistered(address indexed worker, uint256 workerIndex);
    /// @notice `worker` added `amount` to its stake, now `staked` (sub-gwei rests go to its balance).
    event Staked(address indexed worker, uint256 amount, uint256 staked);
    /// @notice `worker` registered the libp2p `peerId` that serves its results; `signature` is the
    /// peer key's Ed25519 signature over "sandrun-peer-v1" || chainid || market || worker. The
    /// contract does not check it: clients ignore a mapping whose signature does not verify.
    event PeerRegistered(address indexed worker, bytes peerId, bytes signature);
    /// @notice `worker` moved `amount` of free stake into unbonding until `unbondingEnd`.
    event UnstakeRequested(address indexed worker, uint256 amount, uint256 unbondingEnd);
    /// @notice `worker` withdrew `amount` of unbonded stake.
    event StakeWithdrawn(address indexed worker, uint256 amount);
    /// @notice `account` withdrew its credited balance of `amount`.
    event Withdrawn(address indexed account, uint256 amount);

    constructor(uint256 unbondingPeriod_) {
        unbondingPeriod = unbondingPeriod_;
    }

    /// @notice Add `msg.value` to the caller's stake. The first stake gives the caller its worker
    /// index. Stake deposited in or after the block a committee's seed comes from does not count
    /// for that committee, so nobody can top up an address after seeing that it drew a low ticket.
    function stake() external payable nonReentrant {
        uint256 amountGwei = msg.value / 1 gwei;
        if (amountGwei == 0) revert MarketZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint256 stakedGwei = uint256(account.stakedGwei) + amountGwei;
        if (stakedGwei > type(uint48).max) revert MarketAmountTooLarge(stakedGwei * 1 gwei, uint256(type(uint48).max) * 1 gwei);
        MarketTotals memory totals = _totals;
        account.stakedGwei = uint48(stakedGwei);
        account.stakeBlock = uint40(block.number);
        uint256 rest = msg.value - amountGwei * 1 gwei;
        if (rest != 0) _credit(account, rest);
        // Fits: every account holds under 2^48 gwei, and 2^16 accounts of that size exceed all ETH.
        totals.stakedGwei += uint64(amountGwei);
        if (account.workerIndex == 0) {
            // 2^32 indices outlast any market: each costs a stake transaction, so using them up
            // would take over 4 billion of them; SafeCast stops the impossible wrap-around.
            uint256 workerIndex = uint256(totals.workerCount) + 1;
            totals.workerCount = SafeCast.toUint32(workerIndex);
            account.workerIndex = uint32(workerIndex);
            _workers[workerIndex] = msg.sender;
            emit WorkerRegistered(msg.sender, workerIndex);
        }
        _totals = totals;
        emit Staked(msg.sender, amountGwei * 1 gwei, stakedGwei * 1 gwei);
    }

    /// @notice Register the libp2p peer id that serves the caller's results, with the peer key's
    /// signature binding it to this chain, market and account (see PeerRegistered).
    function registerPeer(bytes calldata peerId, bytes calldata signature) external {
        if (peerId.length > MAX_PEER_ID_LENGTH) revert MarketPeerIdTooLong(peerId.length, MAX_PEER_ID_LENGTH);
        if (signature.length != PEER_SIGNATURE_LENGTH) revert MarketPeerSignatureInvalid(signature.length);
        _peerIds[msg.sender] = peerId;
        _peerSignatures[msg.sender] = signature;
        emit PeerRegistered(msg.sender, peerId, signature);
    }

    /// @notice Start unbonding `amount` (whole gwei) of free stake. Restarts the unbonding clock
    /// for the whole unbonding amount, so a worker cannot pre-age stake it is about to misuse.
    function requestUnstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert MarketZeroAmount();
        if (amount % 1 gwei != 0) revert MarketNotWholeGwei(amount);
        Account storage account = _accounts[msg.sender];
        uint256 free = _free(account);
        if (amount > free) revert MarketStakeLocked(amount, free);
        uint256 unbondingEnd = block.timestamp + unbondingPeriod;
        account.stakedGwei -= uint48(amount / 1 gwei);
        account.unbonding += uint96(amount); // fits: amount <= staked < 2^78 wei
        account.unbondingEnd = uint64(unbondingEnd);
        _totals.stakedGwei -= uint64(amount / 1 gwei);
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
    /// its worker index (0 if it never staked) and the block of its last stake deposit.
    function accountOf(address account) external view returns (AccountView memory) {
        Account storage a = _accounts[account];
        return AccountView({
            staked: uint256(a.stakedGwei) * 1 gwei,
            locked: uint256(a.lockedGwei) * 1 gwei,
            balance: a.balance,
            unbonding: a.unbonding,
            unbondingEnd: a.unbondingEnd,
            workerIndex: a.workerIndex,
            stakeBlock: a.stakeBlock
        });
    }

    /// @notice Number of worker indices given out (they run from 1 to workerCount), jobs posted
    /// (ids run from 1 to jobCount) and the total stake of all workers (wei).
    function totals() external view returns (uint256 workerCount, uint256 jobCount, uint256 totalStaked) {
        MarketTotals memory t = _totals;
        return (t.workerCount, t.jobCount, uint256(t.stakedGwei) * 1 gwei);
    }

    /// @notice The address that holds worker index `workerIndex` (zero address if none).
    function workerAt(uint256 workerIndex) external view returns (address) {
        return _workers[workerIndex];
    }

    /// @notice The libp2p peer id `worker` registered and the peer key's signature (both empty if none).
    function peerOf(address worker) external view returns (bytes memory peerId, bytes memory signature) {
        return (_peerIds[worker], _peerSignatures[worker]);
    }

    /// @dev Lock `collateralGwei` of the worker's free stake; reverts when the free stake is too small.
    function _lock(Account storage account, address worker, uint256 collateralGwei) internal {
        uint256 freeGwei = uint256(account.stakedGwei) - account.lockedGwei;
        if (collateralGwei > freeGwei) revert MarketInsufficientFreeStake(worker, freeGwei * 1 gwei, collateralGwei * 1 gwei);
        account.lockedGwei += uint48(collateralGwei); // fits: locked + collateral <= staked < 2^48
    }

    /// @dev Unlock `collateralGwei` and credit `payment`: one storage write for a paid worker.
    function _release(Account storage account, uint256 collateralGwei, uint256 payment) internal {
        account.lockedGwei -= uint48(collateralGwei);
        if (payment != 0) _credit(account, payment);
    }

    /// @dev Unlock `collateralGwei` and take it from the stake: the worker loses it. The caller
    /// lowers the market's total stake once for all slashes of a settlement.
    function _slash(Account storage account, uint256 collateralGwei) internal {
        account.lockedGwei -= uint48(collateralGwei);
        account.stakedGwei -= uint48(collateralGwei);
    }

    /// @dev Credit `amount` to `account`'s withdrawable balance.
    function _credit(Account storage account, uint256 amount) internal {
        account.balance = SafeCast.toUint88(uint256(account.balance) + amount);
    }

    function _free(Account storage account) internal view returns (uint256) {
        return (uint256(account.stakedGwei) - account.lockedGwei) * 1 gwei;
    }
}
