// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {ICommodityToken} from "../interfaces/ICommodityToken.sol";
import {IERC7943Fungible} from "../interfaces/IERC7943.sol";

/// @title CommodityTokenCore
/// @notice The storage and the one balance-move hook shared by CommodityToken and the code it runs by
///         delegatecall (CommodityTokenAuthorizations, EIP-3009), so both enforce the same rules on the
///         same state.
/// @dev Stockpile's own state is one ERC-7201 namespace; its first slot packs the hot configuration
///      (pause flag, allowlist mode). Each account's compliance flags sit in the top byte of its
///      OpenZeppelin ERC-20 balance word (as Circle's FiatToken v2.2 keeps its blacklist bit there), so
///      a transfer reads no compliance slot besides the two balances it touches anyway.
abstract contract CommodityTokenCore is ERC20Upgradeable {
    using Checkpoints for Checkpoints.Trace208;

    // Packed hot-config word (see HotConfig): paused at bit 224, allowlist mode at bit 232.
    uint256 internal constant _HOT_PAUSED = 1 << 224;
    uint256 internal constant _HOT_ALLOWLIST = 1 << 232;
    // Balance words: balance in bits 0..247, flags in bits 248..255.
    uint256 internal constant _BALANCE_MASK = (1 << 248) - 1;
    uint256 internal constant _FLAG_FROZEN = 1 << 248; // whole address frozen: cannot send, receive, approve
    uint256 internal constant _FLAG_ALLOWLISTED = 1 << 249;
    uint256 internal constant _FLAG_PARTIAL = 1 << 250; // frozenAmounts[account] != 0

    // keccak256(abi.encode(uint256(keccak256("openzeppelin.storage.ERC20")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _ERC20_STORAGE = 0x52c63247e1f47db19d5ce0460030c497f067ca4cebf71ba98eeadabe20bace00;
    // Transient context of the current balance move (EIP-1153), set and cleared around one internal
    // `_transfer` that makes no external call: a forced transfer or an escrow deposit.
    // keccak256(abi.encode(uint256(keccak256("stockpile.transient.CommodityToken.move")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _MOVE_CONTEXT = 0xf9f9925196224f480b015901b923e1a7110fe605eeeeb14a60038296ac538f00;
    uint256 internal constant _MOVE_FORCED = 1;
    uint256 internal constant _MOVE_ESCROW = 2;

    /// @dev Configuration read on every transfer: one slot.
    struct HotConfig {
        address reserveAttestor;
        uint64 maxAttestationAge;
        bool paused;
        bool allowlistMode;
        uint8 decimals;
        bool mintingPaused;
    }

    /// @dev Token bucket of one minter, and whether its mints are restricted to listed destinations.
    struct MinterLimit {
        uint128 capacity;
        uint128 refillPerSecond;
        uint128 available;
        uint64 updatedAt;
        bool destinationsRestricted;
    }

    /// @custom:storage-location erc7201:stockpile.storage.CommodityToken
    struct CommodityTokenStorage {
        HotConfig hot;
        uint256 minimumRedemption;
        uint256 redemptionCount;
        uint256 totalEscrowed;
        string productCode;
        string unitDescription;
        mapping(address account => uint256) frozenAmounts; // ERC-7943 partial freeze, exactly as set
        mapping(address minter => MinterLimit) minterLimits;
        mapping(bytes32 mintId => bool) usedMintIds;
        mapping(uint256 id => ICommodityToken.Redemption) redemptions;
        Checkpoints.Trace208 burned; // cumulative burns, keyed by block timestamp
        mapping(address minter => mapping(address to => bool)) mintDestinations;
        mapping(address authorizer => mapping(bytes32 nonce => bool)) authorizations; // EIP-3009
    }

    // keccak256(abi.encode(uint256(keccak256("stockpile.storage.CommodityToken")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 internal constant STORAGE_LOCATION = 0xd3e228778c55a906ab8ae1c39565f487c99f97b4e0188e9659a48d92959cc500;

    function _s() internal pure returns (CommodityTokenStorage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }

    function _erc20() internal pure returns (ERC20Storage storage $) {
        assembly {
            $.slot := _ERC20_STORAGE
        }
    }

    /// @notice Balance of `account` (the low 248 bits of its balance word).
    /// @param account The holder.
    /// @return The balance in base units.
    function balanceOf(address account) public view virtual override returns (uint256) {
        return _erc20()._balances[account] & _BALANCE_MASK;
    }

    /// @dev Not frozen, and allowlisted when allowlist mode is on.
    function _passes(uint256 word) internal view returns (bool) {
        return word & _FLAG_FROZEN == 0 && (!_s().hot.allowlistMode || word & _FLAG_ALLOWLISTED != 0);
    }

    /// @dev Approvals and permits: refused when the owner or the spender is frozen (allowance spending in
    ///      transferFrom passes `emitEvent` false and is checked in `_spendAllowance`).
    function _approve(address owner, address spender, uint256 value, bool emitEvent) internal virtual override {
        if (emitEvent) {
            mapping(address => uint256) storage balances = _erc20()._balances;
            if (balances[owner] & _FLAG_FROZEN != 0) revert ICommodityToken.AccountFrozen(owner);
            if (balances[spender] & _FLAG_FROZEN != 0) revert ICommodityToken.AccountFrozen(spender);
        }
        super._approve(owner, spender, value, emitEvent);
    }

    /// @dev transferFrom: the spender must be able to send (not frozen; allowlisted in allowlist mode).
    function _spendAllowance(address owner, address spender, uint256 value) internal virtual override {
        if (!_passes(_erc20()._balances[spender])) revert IERC7943Fungible.ERC7943CannotSend(spender);
        super._spendAllowance(owner, spender, value);
    }

    /// @dev The one hook every balance move passes: transfer, transferFrom, EIP-3009, mint, burn, escrow
    ///      deposits and refunds, forced transfers. Replaces OpenZeppelin's `_update` (same errors and event)
    ///      on the packed balance words. Rules: not while paused; the sender not frozen, allowlisted in
    ///      allowlist mode, and moving no more than its unfrozen balance; the receiver not frozen and
    ///      allowlisted in allowlist mode; nothing into the escrow (this address) but a redemption request.
    ///      A forced transfer skips the pause and the sender's rules. Burns are checkpointed for secure mint.
    function _update(address from, address to, uint256 value) internal virtual override {
        uint256 hot;
        assembly {
            hot := sload(STORAGE_LOCATION)
        }
        if (hot & _HOT_PAUSED != 0 && _moveContext() != _MOVE_FORCED) revert PausableUpgradeable.EnforcedPause();
        bool allowlist = hot & _HOT_ALLOWLIST != 0;
        ERC20Storage storage e = _erc20();
        if (from == address(0)) {
            uint256 supply = e._totalSupply + value;
            if (supply > _BALANCE_MASK) revert ICommodityToken.ValueTooLarge(supply);
            e._totalSupply = supply;
        } else {
            uint256 word = e._balances[from];
            if (word > _BALANCE_MASK || allowlist) _checkSender(from, word, value, allowlist);
            uint256 balance = word & _BALANCE_MASK;
            if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
            unchecked {
                e._balances[from] = word - value;
            }
        }
        if (to == address(0)) {
            unchecked {
                e._totalSupply -= value;
            }
            Checkpoints.Trace208 storage burned = _s().burned;
            uint256 cumulative = burned.latest() + value;
            if (cumulative > type(uint208).max) revert ICommodityToken.ValueTooLarge(cumulative);
            // slither-disable-next-line unused-return - push returns the previous and new cumulative values, both known here
            burned.push(uint48(block.timestamp), uint208(cumulative));
        } else {
            uint256 word = e._balances[to];
            if (word & _FLAG_FROZEN != 0) revert IERC7943Fungible.ERC7943CannotReceive(to);
            if (allowlist && word & _FLAG_ALLOWLISTED == 0) revert IERC7943Fungible.ERC7943CannotReceive(to);
            if (to == address(this) && _moveContext() != _MOVE_ESCROW) revert ERC20InvalidReceiver(to);
            unchecked {
                // balance <= totalSupply <= _BALANCE_MASK: no carry into the flags
                e._balances[to] = word + value;
            }
        }
        emit Transfer(from, to, value);
    }

    /// @dev Sender rules, reached only when the sender has a flag set or allowlist mode is on.
    function _checkSender(address from, uint256 word, uint256 value, bool allowlist) private view {
        if (_moveContext() == _MOVE_FORCED) return;
        if (word & _FLAG_FROZEN != 0) revert IERC7943Fungible.ERC7943CannotSend(from);
        if (allowlist && word & _FLAG_ALLOWLISTED == 0) revert IERC7943Fungible.ERC7943CannotSend(from);
        if (word & _FLAG_PARTIAL != 0) {
            uint256 balance = word & _BALANCE_MASK;
            if (value > balance) return; // ERC20InsufficientBalance in the hook
            uint256 frozen = _s().frozenAmounts[from];
            uint256 unfrozen = frozen >= balance ? 0 : balance - frozen;
            if (value > unfrozen) revert IERC7943Fungible.ERC7943InsufficientUnfrozenBalance(from, value, unfrozen);
        }
    }

    function _moveContext() internal view returns (uint256 ctx) {
        assembly {
            ctx := tload(_MOVE_CONTEXT)
        }
    }

    function _setMoveContext(uint256 ctx) internal {
        assembly {
            tstore(_MOVE_CONTEXT, ctx)
        }
    }
}
