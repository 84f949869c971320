// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {ERC20PermitUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20PermitUpgradeable.sol";
import {AccessControlDefaultAdminRulesUpgradeable} from
    "@openzeppelin/contracts-upgradeable/access/extensions/AccessControlDefaultAdminRulesUpgradeable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

import {ICommodityToken} from "../interfaces/ICommodityToken.sol";
import {IERC7943Fungible} from "../interfaces/IERC7943.sol";
import {IReserveAttestor} from "../interfaces/IReserveAttestor.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title CommodityToken
/// @notice One ERC-20 per warehouse-backed commodity product (e.g. NdPr oxide, 1 kg units).
///         Mints are idempotent, rate limited per minter and capped by the product's latest custody
///         attestation (secure mint); redemptions go through an escrow held at this contract's own
///         address; asset protection (freeze, forced transfer) is exposed through ERC-7943.
/// @dev Deployed behind an ERC1967Proxy (UUPS). Stockpile's own state lives in one ERC-7201 namespace;
///      the first slot packs the hot configuration (pause flag, allowlist mode) so that a transfer pays
///      for one extra cold read, plus one for the sender's account record.
contract CommodityToken is
    Initializable,
    ERC20Upgradeable,
    ERC20PermitUpgradeable,
    AccessControlDefaultAdminRulesUpgradeable,
    PausableUpgradeable,
    UUPSUpgradeable,
    ICommodityToken,
    IERC7943Fungible
{
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant REDEMPTION_OPERATOR_ROLE = keccak256("REDEMPTION_OPERATOR_ROLE");
    bytes32 public constant ASSET_PROTECTION_ROLE = keccak256("ASSET_PROTECTION_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");

    // Bit masks of the packed hot-config word and account word (see `_update`).
    uint256 private constant _HOT_PAUSED = 1 << 224;
    uint256 private constant _HOT_ALLOWLIST = 1 << 232;
    uint256 private constant _ACCOUNT_FROZEN = 1;
    uint256 private constant _ACCOUNT_ALLOWLISTED = 1 << 8;

    /// @dev Stored frozen amounts at this value mean "everything" (reported as type(uint256).max).
    uint240 private constant FROZEN_ALL = type(uint240).max;

    /// @notice Arguments of `initialize`.
    struct InitParams {
        string name;
        string symbol;
        uint8 decimals;
        string productCode;
        string unitDescription;
        address admin; // DEFAULT_ADMIN_ROLE (two-step, delayed handover)
        uint48 adminTransferDelay; // seconds
        address upgrader; // UPGRADER_ROLE: the TimelockController
        IReserveAttestor reserveAttestor;
        uint64 maxAttestationAge; // seconds
        uint256 minimumRedemption;
    }

    /// @dev Configuration read on every transfer: one slot.
    struct HotConfig {
        address reserveAttestor;
        uint64 maxAttestationAge;
        bool paused;
        bool allowlistMode;
        uint8 decimals;
        bool mintingPaused; // appended: bits 248..255 of the slot
    }

    /// @dev Per-account compliance record: one slot.
    struct AccountState {
        bool frozen; // whole address frozen: cannot send
        bool allowlisted;
        uint240 frozenAmount; // partial freeze (ERC-7943); FROZEN_ALL means everything
    }

    /// @dev Token bucket of one minter.
    struct MinterLimit {
        uint128 capacity;
        uint128 refillPerSecond;
        uint128 available;
        uint64 updatedAt;
    }

    /// @custom:storage-location erc7201:stockpile.storage.CommodityToken
    struct CommodityTokenStorage {
        HotConfig hot;
        uint256 minimumRedemption;
        uint256 redemptionCount;
        uint256 totalEscrowed;
        string productCode;
        string unitDescription;
        mapping(address account => AccountState) accounts;
        mapping(address minter => MinterLimit) minterLimits;
        mapping(bytes32 mintId => bool) usedMintIds;
        mapping(uint256 id => Redemption) redemptions;
    }

    // keccak256(abi.encode(uint256(keccak256("stockpile.storage.CommodityToken")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_LOCATION = 0xd3e228778c55a906ab8ae1c39565f487c99f97b4e0188e9659a48d92959cc500;

    function _s() private pure returns (CommodityTokenStorage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Initializes the proxy's state: metadata, roles, secure-mint and redemption settings.
    /// @param p See `InitParams`. `admin` gets DEFAULT_ADMIN_ROLE, `upgrader` (a TimelockController) UPGRADER_ROLE.
    function initialize(InitParams calldata p) external initializer {
        if (p.admin == address(0) || p.upgrader == address(0)) revert ZeroAddress();
        __ERC20_init(p.name, p.symbol);
        __ERC20Permit_init(p.name);
        __AccessControlDefaultAdminRules_init(p.adminTransferDelay, p.admin);
        __Pausable_init();
        _grantRole(UPGRADER_ROLE, p.upgrader);
        CommodityTokenStorage storage $ = _s();
        $.hot.decimals = p.decimals;
        $.hot.reserveAttestor = address(p.reserveAttestor);
        $.hot.maxAttestationAge = p.maxAttestationAge;
        $.productCode = p.productCode;
        $.unitDescription = p.unitDescription;
        if (p.maxAttestationAge == 0) revert ZeroAmount();
        if (address(p.reserveAttestor) != address(0)) _checkAttestorProduct(p.reserveAttestor);
        $.minimumRedemption = p.minimumRedemption;
        emit ReserveAttestorSet(address(p.reserveAttestor));
        emit MaxAttestationAgeSet(p.maxAttestationAge);
        emit MinimumRedemptionSet(p.minimumRedemption);
    }

    // ------------------------------------------------------------------ metadata

    /// @notice Number of decimals of the token (set at initialization).
    function decimals() public view override returns (uint8) {
        return _s().hot.decimals;
    }

    /// @inheritdoc ICommodityToken
    function productCode() external view returns (string memory) {
        return _s().productCode;
    }

    /// @inheritdoc ICommodityToken
    function unitDescription() external view returns (string memory) {
        return _s().unitDescription;
    }

    /// @notice ERC-165: ERC-7943 fungible, AccessControl and its default-admin rules.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControlDefaultAdminRulesUpgradeable, IERC165)
        returns (bool)
    {
        return interfaceId == type(IERC7943Fungible).interfaceId || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ mint

    /// @inheritdoc ICommodityToken
    function mint(address to, uint256 amount, bytes32 mintId) external onlyRole(MINTER_ROLE) whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        if (to == address(this)) revert ERC20InvalidReceiver(to);
        CommodityTokenStorage storage $ = _s();
        if ($.hot.mintingPaused) revert MintingIsPaused();
        if ($.usedMintIds[mintId]) revert MintIdUsed(mintId);
        AccountState memory acct = $.accounts[to];
        if (acct.frozen) revert AccountFrozen(to);
        if ($.hot.allowlistMode && !acct.allowlisted) revert ERC7943CannotReceive(to);
        _consumeRateLimit($, _msgSender(), amount);
        _checkReserve($, amount);
        $.usedMintIds[mintId] = true;
        ERC20Upgradeable._update(address(0), to, amount);
        emit Minted(mintId, to, amount, _msgSender());
    }

    /// @inheritdoc ICommodityToken
    function mintIdUsed(bytes32 mintId) external view returns (bool) {
        return _s().usedMintIds[mintId];
    }

    /// @inheritdoc ICommodityToken
    function availableToMint(address minter) public view returns (uint256) {
        MinterLimit memory l = _s().minterLimits[minter];
        uint256 refilled = uint256(l.available) + (block.timestamp - l.updatedAt) * uint256(l.refillPerSecond);
        return refilled > l.capacity ? l.capacity : refilled;
    }

    /// @inheritdoc ICommodityToken
    function setMinterLimit(address minter, uint256 capacity, uint256 refillPerSecond)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (minter == address(0)) revert ZeroAddress();
        _s().minterLimits[minter] = MinterLimit({
            capacity: _toUint128(capacity),
            refillPerSecond: _toUint128(refillPerSecond),
            available: _toUint128(capacity),
            updatedAt: uint64(block.timestamp)
        });
        emit MinterLimitSet(minter, capacity, refillPerSecond);
    }

    /// @inheritdoc ICommodityToken
    function reserveAttestor() external view returns (IReserveAttestor) {
        return IReserveAttestor(_s().hot.reserveAttestor);
    }

    /// @inheritdoc ICommodityToken
    function setReserveAttestor(IReserveAttestor attestor) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(attestor) == address(0)) revert ZeroAddress();
        _checkAttestorProduct(attestor);
        _s().hot.reserveAttestor = address(attestor);
        emit ReserveAttestorSet(address(attestor));
    }

    /// @dev The attestor must attest this token's product.
    function _checkAttestorProduct(IReserveAttestor attestor) private view {
        string memory actual = attestor.productCode();
        string memory expected = _s().productCode;
        if (keccak256(bytes(actual)) != keccak256(bytes(expected))) revert AttestorProductMismatch(expected, actual);
    }

    /// @inheritdoc ICommodityToken
    function maxAttestationAge() external view returns (uint64) {
        return _s().hot.maxAttestationAge;
    }

    /// @inheritdoc ICommodityToken
    function setMaxAttestationAge(uint64 maxAge) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (maxAge == 0) revert ZeroAmount();
        _s().hot.maxAttestationAge = maxAge;
        emit MaxAttestationAgeSet(maxAge);
    }

    function _consumeRateLimit(CommodityTokenStorage storage $, address minter, uint256 amount) private {
        uint256 available = availableToMint(minter);
        if (amount > available) revert RateLimited(minter, amount, available);
        MinterLimit storage l = $.minterLimits[minter];
        l.available = uint128(available - amount);
        l.updatedAt = uint64(block.timestamp);
    }

    function _checkReserve(CommodityTokenStorage storage $, uint256 amount) private view {
        address attestor = $.hot.reserveAttestor;
        if (attestor == address(0)) revert NoAttestation();
        (uint256 total, uint64 asOf) = IReserveAttestor(attestor).reserveTotal();
        if (asOf == 0) revert NoAttestation();
        uint64 maxAge = $.hot.maxAttestationAge;
        if (block.timestamp > asOf && block.timestamp - asOf > maxAge) revert AttestationStale(asOf, maxAge);
        uint256 supply = totalSupply();
        uint256 headroom = total > supply ? total - supply : 0;
        if (amount > headroom) revert ReserveExceeded(amount, headroom);
    }

    function _toUint128(uint256 v) private pure returns (uint128) {
        if (v > type(uint128).max) revert ValueTooLarge(v);
        return uint128(v);
    }

    // ------------------------------------------------------------------ redemption

    /// @inheritdoc ICommodityToken
    function requestRedemption(uint256 amount, bytes32 deliveryRef) external whenNotPaused returns (uint256 id) {
        CommodityTokenStorage storage $ = _s();
        if (amount == 0) revert ZeroAmount();
        if (amount < $.minimumRedemption) revert RedemptionBelowMinimum(amount, $.minimumRedemption);
        address holder = _msgSender();
        _checkSender($, holder, amount);
        id = ++$.redemptionCount;
        $.redemptions[id] = Redemption({
            holder: holder,
            requestedAt: uint64(block.timestamp),
            status: RedemptionStatus.Pending,
            amount: amount,
            deliveryRef: deliveryRef
        });
        $.totalEscrowed += amount;
        ERC20Upgradeable._update(holder, address(this), amount);
        emit RedemptionRequested(id, holder, amount, deliveryRef);
    }

    /// @inheritdoc ICommodityToken
    function completeRedemption(uint256 id) external onlyRole(REDEMPTION_OPERATOR_ROLE) whenNotPaused {
        Redemption storage r = _closePending(id, RedemptionStatus.Completed);
        ERC20Upgradeable._update(address(this), address(0), r.amount);
        emit RedemptionCompleted(id, r.holder, r.amount);
    }

    /// @inheritdoc ICommodityToken
    function rejectRedemption(uint256 id, bytes32 reasonCode) external onlyRole(REDEMPTION_OPERATOR_ROLE) whenNotPaused {
        Redemption storage r = _closePending(id, RedemptionStatus.Rejected);
        ERC20Upgradeable._update(address(this), r.holder, r.amount);
        emit RedemptionRejected(id, r.holder, r.amount, reasonCode);
    }

    /// @inheritdoc ICommodityToken
    function cancelRedemption(uint256 id) external whenNotPaused {
        Redemption storage r = _s().redemptions[id];
        if (r.status == RedemptionStatus.Pending && r.holder != _msgSender()) revert NotRedemptionHolder(id, _msgSender());
        _closePending(id, RedemptionStatus.Cancelled);
        ERC20Upgradeable._update(address(this), r.holder, r.amount);
        emit RedemptionCancelled(id, r.holder, r.amount);
    }

    function _closePending(uint256 id, RedemptionStatus next) private returns (Redemption storage r) {
        CommodityTokenStorage storage $ = _s();
        r = $.redemptions[id];
        if (r.status != RedemptionStatus.Pending) revert RedemptionNotPending(id, r.status);
        r.status = next;
        $.totalEscrowed -= r.amount;
    }

    /// @inheritdoc ICommodityToken
    function getRedemption(uint256 id) external view returns (Redemption memory) {
        return _s().redemptions[id];
    }

    /// @inheritdoc ICommodityToken
    function redemptionCount() external view returns (uint256) {
        return _s().redemptionCount;
    }

    /// @inheritdoc ICommodityToken
    function totalEscrowed() external view returns (uint256) {
        return _s().totalEscrowed;
    }

    /// @inheritdoc ICommodityToken
    function minimumRedemption() external view returns (uint256) {
        return _s().minimumRedemption;
    }

    /// @inheritdoc ICommodityToken
    function setMinimumRedemption(uint256 minimum) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _s().minimumRedemption = minimum;
        emit MinimumRedemptionSet(minimum);
    }

    // ------------------------------------------------------------------ asset protection (ERC-7943)

    /// @inheritdoc IERC7943Fungible
    function forcedTransfer(address from, address to, uint256 amount)
        external
        onlyRole(ASSET_PROTECTION_ROLE)
        returns (bool)
    {
        if (amount == 0) revert ZeroAmount();
        if (from == address(0) || to == address(0)) revert ZeroAddress();
        if (from == address(this)) revert ERC20InvalidSender(from);
        if (to == address(this)) revert ERC20InvalidReceiver(to);
        CommodityTokenStorage storage $ = _s();
        AccountState storage dest = $.accounts[to];
        if (dest.frozen) revert AccountFrozen(to);
        if ($.hot.allowlistMode && !dest.allowlisted) revert ERC7943CannotReceive(to);
        // Frozen tokens may be taken (ERC-7943): the frozen part moved is unfrozen first, and `Frozen`
        // is emitted before the ERC-20 Transfer. A whole-address freeze or a "freeze all" stays as is.
        AccountState storage src = $.accounts[from];
        uint240 frozenAmount = src.frozenAmount;
        if (frozenAmount != 0 && frozenAmount != FROZEN_ALL) {
            uint256 balance = balanceOf(from);
            if (amount <= balance) {
                uint256 unfrozen = frozenAmount >= balance ? 0 : balance - frozenAmount;
                if (amount > unfrozen) {
                    uint256 remaining = frozenAmount - (amount - unfrozen);
                    src.frozenAmount = uint240(remaining);
                    emit Frozen(from, remaining);
                }
            }
        }
        ERC20Upgradeable._update(from, to, amount); // reverts with ERC20InsufficientBalance if amount > balance
        emit ForcedTransfer(from, to, amount);
        return true;
    }

    /// @inheritdoc IERC7943Fungible
    function setFrozenTokens(address account, uint256 amount) external onlyRole(ASSET_PROTECTION_ROLE) returns (bool) {
        if (account == address(0)) revert ZeroAddress();
        _s().accounts[account].frozenAmount = amount >= FROZEN_ALL ? FROZEN_ALL : uint240(amount);
        emit Frozen(account, amount >= FROZEN_ALL ? type(uint256).max : amount);
        return true;
    }

    /// @inheritdoc ICommodityToken
    function setAddressFrozen(address account, bool frozen) external onlyRole(ASSET_PROTECTION_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        _s().accounts[account].frozen = frozen;
        emit AddressFrozen(account, frozen);
    }

    /// @inheritdoc ICommodityToken
    function isFrozen(address account) external view returns (bool) {
        return _s().accounts[account].frozen;
    }

    /// @inheritdoc IERC7943Fungible
    /// @dev A whole-address freeze reports type(uint256).max.
    function getFrozenTokens(address account) public view returns (uint256) {
        AccountState memory a = _s().accounts[account];
        if (a.frozen || a.frozenAmount == FROZEN_ALL) return type(uint256).max;
        return a.frozenAmount;
    }

    /// @inheritdoc IERC7943Fungible
    function canSend(address account) public view returns (bool) {
        CommodityTokenStorage storage $ = _s();
        AccountState memory a = $.accounts[account];
        return !a.frozen && (!$.hot.allowlistMode || a.allowlisted);
    }

    /// @inheritdoc IERC7943Fungible
    /// @dev A whole-address freeze stops sending, not receiving; mints to a frozen address are refused.
    function canReceive(address account) public view returns (bool) {
        CommodityTokenStorage storage $ = _s();
        return !$.hot.allowlistMode || $.accounts[account].allowlisted;
    }

    /// @inheritdoc IERC7943Fungible
    /// @dev False when paused, for a zero or token-contract address, when `from` cannot send or `to` cannot
    ///      receive, or when `amount` (within the balance) exceeds the unfrozen balance.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool) {
        if (paused() || from == address(0) || to == address(0) || to == address(this)) return false;
        if (!canSend(from) || !canReceive(to)) return false;
        uint256 frozen = getFrozenTokens(from);
        if (frozen == 0) return true;
        uint256 balance = balanceOf(from);
        // A plain ERC-20 shortfall (amount > balance) is not a permissioned rule: ERC-7943 leaves it to the base token.
        if (amount > balance) return true;
        return amount <= (frozen >= balance ? 0 : balance - frozen);
    }

    // ------------------------------------------------------------------ compliance

    /// @inheritdoc ICommodityToken
    function setAllowlistMode(bool enabled) external onlyRole(COMPLIANCE_ROLE) {
        _s().hot.allowlistMode = enabled;
        emit AllowlistModeSet(enabled);
    }

    /// @inheritdoc ICommodityToken
    function allowlistMode() external view returns (bool) {
        return _s().hot.allowlistMode;
    }

    /// @inheritdoc ICommodityToken
    function setAllowlisted(address account, bool allowed) external onlyRole(COMPLIANCE_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        _s().accounts[account].allowlisted = allowed;
        emit AllowlistUpdated(account, allowed);
    }

    /// @inheritdoc ICommodityToken
    function isAllowlisted(address account) external view returns (bool) {
        return _s().accounts[account].allowlisted;
    }

    // ------------------------------------------------------------------ pause

    /// @inheritdoc ICommodityToken
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ICommodityToken
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc ICommodityToken
    function pauseMinting() external onlyRole(PAUSER_ROLE) {
        HotConfig storage hot = _s().hot;
        if (hot.mintingPaused) revert MintingPauseUnchanged(true);
        hot.mintingPaused = true;
        emit MintingPaused(_msgSender());
    }

    /// @inheritdoc ICommodityToken
    function unpauseMinting() external onlyRole(PAUSER_ROLE) {
        HotConfig storage hot = _s().hot;
        if (!hot.mintingPaused) revert MintingPauseUnchanged(false);
        hot.mintingPaused = false;
        emit MintingUnpaused(_msgSender());
    }

    /// @inheritdoc ICommodityToken
    function mintingPaused() external view returns (bool) {
        return _s().hot.mintingPaused;
    }

    /// @notice Whether transfers, mints and redemptions are paused.
    /// @dev Kept in the packed hot-config slot instead of PausableUpgradeable's own slot.
    function paused() public view override returns (bool) {
        return _s().hot.paused;
    }

    function _pause() internal override whenNotPaused {
        _s().hot.paused = true;
        emit Paused(_msgSender());
    }

    function _unpause() internal override whenPaused {
        _s().hot.paused = false;
        emit Unpaused(_msgSender());
    }

    // ------------------------------------------------------------------ transfer hook

    /// @dev Every holder-initiated movement (transfer, transferFrom) passes here. Mints, redemption
    ///      escrow moves and forced transfers call ERC20Upgradeable._update directly after their own checks.
    function _update(address from, address to, uint256 value) internal override {
        // Hot path: one read of the packed config slot and one of the sender's account slot, tested
        // with masks (layouts fixed by the storage-layout snapshot: HotConfig.paused at bit 224,
        // allowlistMode at bit 232; AccountState.frozen at bit 0, allowlisted at bit 8, frozenAmount from bit 16).
        CommodityTokenStorage storage $ = _s();
        uint256 hot;
        assembly {
            hot := sload($.slot)
        }
        if (hot & _HOT_PAUSED != 0) revert EnforcedPause();
        if (to == address(this)) revert ERC20InvalidReceiver(to);
        uint256 account = _accountWord($, from);
        if (account & _ACCOUNT_FROZEN != 0) revert ERC7943CannotSend(from);
        if (hot & _HOT_ALLOWLIST != 0) {
            if (account & _ACCOUNT_ALLOWLISTED == 0) revert ERC7943CannotSend(from);
            if (_accountWord($, to) & _ACCOUNT_ALLOWLISTED == 0) revert ERC7943CannotReceive(to);
        }
        uint240 frozenAmount = uint240(account >> 16);
        if (frozenAmount != 0) _checkUnfrozen(from, value, frozenAmount);
        super._update(from, to, value);
    }

    function _accountWord(CommodityTokenStorage storage $, address account) private view returns (uint256 word) {
        AccountState storage a = $.accounts[account];
        assembly {
            word := sload(a.slot)
        }
    }

    /// @dev Sender-side checks of a holder-initiated movement of `value` (used by requestRedemption).
    function _checkSender(CommodityTokenStorage storage $, address from, uint256 value) private view {
        AccountState memory a = $.accounts[from];
        if (a.frozen) revert ERC7943CannotSend(from);
        if ($.hot.allowlistMode && !a.allowlisted) revert ERC7943CannotSend(from);
        if (a.frozenAmount != 0) _checkUnfrozen(from, value, a.frozenAmount);
    }

    function _checkUnfrozen(address from, uint256 value, uint240 frozenAmount) private view {
        uint256 balance = balanceOf(from);
        if (value > balance) return; // ERC20InsufficientBalance from the ERC-20 core
        uint256 unfrozen = frozenAmount >= balance ? 0 : balance - frozenAmount;
        if (value > unfrozen) revert ERC7943InsufficientUnfrozenBalance(from, value, unfrozen);
    }

    // ------------------------------------------------------------------ upgrades

    /// @dev Only the UPGRADER_ROLE (a TimelockController) may upgrade.
    function _authorizeUpgrade(address) internal override onlyRole(UPGRADER_ROLE) {}
}
