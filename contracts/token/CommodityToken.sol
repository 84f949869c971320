// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {CommodityTokenCore} from "./CommodityTokenCore.sol";
import {ERC20PermitUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20PermitUpgradeable.sol";
import {AccessControlDefaultAdminRulesUpgradeable} from
    "@openzeppelin/contracts-upgradeable/access/extensions/AccessControlDefaultAdminRulesUpgradeable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

import {ICommodityToken} from "../interfaces/ICommodityToken.sol";
import {IERC7943Fungible} from "../interfaces/IERC7943.sol";
import {IReserveAttestor} from "../interfaces/IReserveAttestor.sol";
import {IERC3009} from "../interfaces/IERC3009.sol";
import {IAggregatorV3} from "../interfaces/IAggregatorV3.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

/// @title CommodityToken
/// @notice One ERC-20 per warehouse-backed commodity product (e.g. NdPr oxide, 1 kg units).
///         Mints are idempotent, rate limited per minter and capped by the product's latest custody
///         attestation (secure mint); redemptions go through an escrow held at this contract's own
///         address; asset protection (freeze, forced transfer) is exposed through ERC-7943.
///         Also EIP-3009 transfers with authorization. Every balance move passes one hook (`_update`).
/// @dev Deployed behind an ERC1967Proxy (UUPS). Stockpile's own state lives in one ERC-7201 namespace;
///      its first slot packs the hot configuration (pause flag, allowlist mode), and each account's
///      compliance flags sit in the top byte of its ERC-20 balance word, so that a transfer pays for one
///      extra cold read only.
contract CommodityToken is
    Initializable,
    ERC20PermitUpgradeable,
    CommodityTokenCore,
    AccessControlDefaultAdminRulesUpgradeable,
    PausableUpgradeable,
    UUPSUpgradeable,
    ICommodityToken,
    IERC7943Fungible
{
    using Checkpoints for Checkpoints.Trace208;

    /// @dev EIP-3009 code, run by delegatecall on this token's storage (see `fallback`).
    /// @custom:oz-upgrades-unsafe-allow state-variable-immutable
    address private immutable _AUTHORIZATIONS;

    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant REDEMPTION_OPERATOR_ROLE = keccak256("REDEMPTION_OPERATOR_ROLE");
    bytes32 public constant ASSET_PROTECTION_ROLE = keccak256("ASSET_PROTECTION_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");
    /// @notice Changes that can weaken backing (reserve attestor, raising max attestation age, granting a
    ///         minter, raising a minter's limit, widening its mint destinations). Held by the TimelockController;
    ///         administered by itself, like UPGRADER_ROLE, so the admin multisig cannot grant it.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");

    /// @notice Arguments of `initialize`.
    struct InitParams {
        string name;
        string symbol;
        uint8 decimals;
        string productCode;
        string unitDescription;
        address admin; // DEFAULT_ADMIN_ROLE (two-step, delayed handover): the issuer's multisig
        uint48 adminTransferDelay; // seconds
        address timelock; // UPGRADER_ROLE and GOVERNOR_ROLE: the TimelockController
        address bootstrapGovernor; // GOVERNOR_ROLE during the first configuration (the deployer), or zero
        IReserveAttestor reserveAttestor; // zero, or an attestor already bound to this token's address
        uint64 maxAttestationAge; // seconds
        uint256 minimumRedemption;
    }

    /// @custom:oz-upgrades-unsafe-allow constructor
    /// @param authorizations_ The CommodityTokenAuthorizations contract serving EIP-3009 for this implementation.
    constructor(address authorizations_) {
        if (authorizations_ == address(0)) revert ZeroAddress();
        _AUTHORIZATIONS = authorizations_;
        _disableInitializers();
    }

    /// @notice Initializes the proxy's state: metadata, roles, secure-mint and redemption settings.
    /// @param p See `InitParams`. `admin` gets DEFAULT_ADMIN_ROLE; `timelock` UPGRADER_ROLE and GOVERNOR_ROLE
    ///        (both administered by themselves); `bootstrapGovernor`, if not zero, GOVERNOR_ROLE too until it
    ///        renounces it after the first configuration.
    function initialize(InitParams calldata p) external initializer {
        if (p.admin == address(0) || p.timelock == address(0)) revert ZeroAddress();
        if (p.maxAttestationAge == 0) revert ZeroAmount();
        __ERC20_init(p.name, p.symbol);
        __ERC20Permit_init(p.name);
        __AccessControlDefaultAdminRules_init(p.adminTransferDelay, p.admin);
        __Pausable_init();
        _setRoleAdmin(UPGRADER_ROLE, UPGRADER_ROLE);
        _setRoleAdmin(GOVERNOR_ROLE, GOVERNOR_ROLE);
        _setRoleAdmin(MINTER_ROLE, GOVERNOR_ROLE);
        _grantRole(UPGRADER_ROLE, p.timelock);
        _grantRole(GOVERNOR_ROLE, p.timelock);
        if (p.bootstrapGovernor != address(0)) _grantRole(GOVERNOR_ROLE, p.bootstrapGovernor);
        CommodityTokenStorage storage $ = _s();
        $.hot.decimals = p.decimals;
        $.hot.maxAttestationAge = p.maxAttestationAge;
        $.productCode = p.productCode;
        $.unitDescription = p.unitDescription;
        $.minimumRedemption = p.minimumRedemption;
        // The escrow (this address) is always on the allowlist, never frozen.
        _erc20()._balances[address(this)] = _FLAG_ALLOWLISTED;
        if (address(p.reserveAttestor) != address(0)) _setReserveAttestor(p.reserveAttestor);
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

    // ------------------------------------------------------------------ roles

    /// @dev Safer-only changes may also be made by the admin at once; anything else needs GOVERNOR_ROLE.
    function _checkGovernorUnless(bool saferOnly) private view {
        if (saferOnly && hasRole(DEFAULT_ADMIN_ROLE, _msgSender())) return;
        _checkRole(GOVERNOR_ROLE);
    }

    /// @inheritdoc ICommodityToken
    function revokeMinter(address minter) external {
        _checkGovernorUnless(true);
        _revokeRole(MINTER_ROLE, minter);
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
        address minter = _msgSender();
        if (!canMintToAddress(minter, to)) revert MintDestinationNotAllowed(minter, to);
        _consumeRateLimit($, minter, amount);
        _checkReserve($, amount);
        $.usedMintIds[mintId] = true;
        _mint(to, amount);
        emit Minted(mintId, to, amount, minter);
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
    function setMinterLimit(address minter, uint256 capacity, uint256 refillPerSecond) external {
        if (minter == address(0)) revert ZeroAddress();
        MinterLimit storage l = _s().minterLimits[minter];
        bool lowering = capacity <= l.capacity && refillPerSecond <= l.refillPerSecond;
        _checkGovernorUnless(lowering);
        uint256 available = availableToMint(minter);
        l.available = lowering ? (available < capacity ? uint128(available) : uint128(capacity)) : _toUint128(capacity);
        l.capacity = _toUint128(capacity);
        l.refillPerSecond = _toUint128(refillPerSecond);
        l.updatedAt = uint64(block.timestamp);
        emit MinterLimitSet(minter, capacity, refillPerSecond);
    }

    /// @inheritdoc ICommodityToken
    function setMintDestinationsRestricted(address minter, bool restricted) external {
        _checkGovernorUnless(restricted);
        _s().minterLimits[minter].destinationsRestricted = restricted;
        emit MintDestinationsRestricted(minter, restricted);
    }

    /// @inheritdoc ICommodityToken
    function setMintDestination(address minter, address to, bool allowed) external {
        _checkGovernorUnless(!allowed);
        _s().mintDestinations[minter][to] = allowed;
        emit MintDestinationSet(minter, to, allowed);
    }

    /// @inheritdoc ICommodityToken
    function canMintToAddress(address minter, address to) public view returns (bool) {
        CommodityTokenStorage storage $ = _s();
        return !$.minterLimits[minter].destinationsRestricted || $.mintDestinations[minter][to];
    }

    /// @inheritdoc ICommodityToken
    function reserveAttestor() external view returns (IReserveAttestor) {
        return IReserveAttestor(_s().hot.reserveAttestor);
    }

    /// @inheritdoc ICommodityToken
    function setReserveAttestor(IReserveAttestor attestor) external onlyRole(GOVERNOR_ROLE) {
        if (address(attestor) == address(0)) revert ZeroAddress();
        _setReserveAttestor(attestor);
    }

    /// @dev The attestor must attest this token's product, be bound to this token and use its decimals.
    function _setReserveAttestor(IReserveAttestor attestor) private {
        CommodityTokenStorage storage $ = _s();
        string memory actual = attestor.productCode();
        if (keccak256(bytes(actual)) != keccak256(bytes($.productCode))) {
            revert AttestorProductMismatch($.productCode, actual);
        }
        address bound = attestor.token();
        if (bound != address(this)) revert AttestorNotBound(address(attestor), bound);
        uint8 attestorDecimals = IAggregatorV3(address(attestor)).decimals();
        if (attestorDecimals != $.hot.decimals) revert AttestorDecimalsMismatch($.hot.decimals, attestorDecimals);
        $.hot.reserveAttestor = address(attestor);
        emit ReserveAttestorSet(address(attestor));
    }

    /// @inheritdoc ICommodityToken
    function maxAttestationAge() external view returns (uint64) {
        return _s().hot.maxAttestationAge;
    }

    /// @inheritdoc ICommodityToken
    function setMaxAttestationAge(uint64 maxAge) external {
        if (maxAge == 0) revert ZeroAmount();
        HotConfig storage hot = _s().hot;
        _checkGovernorUnless(maxAge <= hot.maxAttestationAge);
        hot.maxAttestationAge = maxAge;
        emit MaxAttestationAgeSet(maxAge);
    }

    function _consumeRateLimit(CommodityTokenStorage storage $, address minter, uint256 amount) private {
        uint256 available = availableToMint(minter);
        if (amount > available) revert RateLimited(minter, amount, available);
        MinterLimit storage l = $.minterLimits[minter];
        l.available = uint128(available - amount);
        l.updatedAt = uint64(block.timestamp);
    }

    /// @dev Secure mint: supply + burned since the attestation's as-of + amount <= attested total. Metal that
    ///      left the warehouse after the snapshot (a completed redemption) is still in the attested total.
    function _checkReserve(CommodityTokenStorage storage $, uint256 amount) private view {
        address attestor = $.hot.reserveAttestor;
        if (attestor == address(0)) revert NoAttestation();
        (uint256 total, uint64 asOf) = IReserveAttestor(attestor).reserveTotal();
        if (asOf == 0) revert NoAttestation();
        uint64 maxAge = $.hot.maxAttestationAge;
        if (block.timestamp > asOf && block.timestamp - asOf > maxAge) revert AttestationStale(asOf, maxAge);
        uint256 used = totalSupply() + burnedSince(asOf);
        uint256 headroom = total > used ? total - used : 0;
        if (amount > headroom) revert ReserveExceeded(amount, headroom);
    }

    /// @inheritdoc ICommodityToken
    function burnedSince(uint64 asOf) public view returns (uint256) {
        Checkpoints.Trace208 storage burned = _s().burned;
        uint256 before = asOf == 0 ? 0 : burned.upperLookup(uint48(asOf - 1));
        return burned.latest() - before;
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
        id = ++$.redemptionCount;
        $.redemptions[id] = Redemption({
            holder: holder,
            requestedAt: uint64(block.timestamp),
            status: RedemptionStatus.Pending,
            amount: amount,
            deliveryRef: deliveryRef
        });
        $.totalEscrowed += amount;
        _setMoveContext(_MOVE_ESCROW);
        _transfer(holder, address(this), amount);
        _setMoveContext(0);
        emit RedemptionRequested(id, holder, amount, deliveryRef);
    }

    /// @inheritdoc ICommodityToken
    function acceptRedemption(uint256 id) external onlyRole(REDEMPTION_OPERATOR_ROLE) whenNotPaused {
        Redemption storage r = _s().redemptions[id];
        if (r.status != RedemptionStatus.Pending) revert RedemptionNotPending(id, r.status);
        r.status = RedemptionStatus.Processing;
        emit RedemptionAccepted(id, r.holder, r.amount);
    }

    /// @inheritdoc ICommodityToken
    function completeRedemption(uint256 id) external onlyRole(REDEMPTION_OPERATOR_ROLE) whenNotPaused {
        Redemption storage r = _s().redemptions[id];
        if (r.status != RedemptionStatus.Processing) revert RedemptionNotProcessing(id, r.status);
        _close(r, RedemptionStatus.Completed);
        _burn(address(this), r.amount);
        emit RedemptionCompleted(id, r.holder, r.amount);
    }

    /// @inheritdoc ICommodityToken
    function rejectRedemption(uint256 id, bytes32 reasonCode) external onlyRole(REDEMPTION_OPERATOR_ROLE) whenNotPaused {
        Redemption storage r = _s().redemptions[id];
        if (r.status != RedemptionStatus.Pending && r.status != RedemptionStatus.Processing) {
            revert RedemptionNotOpen(id, r.status);
        }
        _close(r, RedemptionStatus.Rejected);
        _transfer(address(this), r.holder, r.amount);
        emit RedemptionRejected(id, r.holder, r.amount, reasonCode);
    }

    /// @inheritdoc ICommodityToken
    /// @dev Only while Pending: once the operator accepted (Processing) the material may be on its way.
    ///      A request the operator never accepts can be taken back at any time, so no timeout is needed.
    function cancelRedemption(uint256 id) external whenNotPaused {
        Redemption storage r = _s().redemptions[id];
        if (r.status != RedemptionStatus.Pending) revert RedemptionNotPending(id, r.status);
        if (r.holder != _msgSender()) revert NotRedemptionHolder(id, _msgSender());
        _close(r, RedemptionStatus.Cancelled);
        _transfer(address(this), r.holder, r.amount);
        emit RedemptionCancelled(id, r.holder, r.amount);
    }

    function _close(Redemption storage r, RedemptionStatus next) private {
        r.status = next;
        _s().totalEscrowed -= r.amount;
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

    // ------------------------------------------------------------------ EIP-3009

    /// @notice The contract whose code serves EIP-3009 (IERC3009) on this token's storage.
    /// @return Its address (immutable per implementation).
    function authorizations() external view returns (address) {
        return _AUTHORIZATIONS;
    }

    /// @notice EIP-3009: `transferWithAuthorization`, `receiveWithAuthorization`, `cancelAuthorization` and
    ///         `authorizationState` (ABI: IERC3009) run the code of `authorizations()` by delegatecall, on
    ///         this token's storage and through the same balance hook. Any other unknown call reverts.
    fallback() external {
        bytes4 selector = msg.sig;
        if (
            selector != IERC3009.transferWithAuthorization.selector
                && selector != IERC3009.receiveWithAuthorization.selector
                && selector != IERC3009.cancelAuthorization.selector && selector != IERC3009.authorizationState.selector
        ) revert UnknownFunction(selector);
        address target = _AUTHORIZATIONS;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }

    // ------------------------------------------------------------------ asset protection (ERC-7943)

    /// @inheritdoc IERC7943Fungible
    /// @dev Bypasses pause and the sender's freezes and allowlist status (not the receiver's). When frozen
    ///      tokens are taken, the stored frozen amount is lowered by the frozen part moved and `Frozen` (the
    ///      value `getFrozenTokens` reports afterwards) is emitted before `Transfer`; from a whole-address
    ///      frozen account every token moved is frozen, so `Frozen(from, type(uint256).max)` is emitted.
    function forcedTransfer(address from, address to, uint256 amount)
        external
        onlyRole(ASSET_PROTECTION_ROLE)
        returns (bool)
    {
        if (amount == 0) revert ZeroAmount();
        if (from == address(0) || to == address(0)) revert ZeroAddress();
        if (from == address(this)) revert ERC20InvalidSender(from);
        if (to == address(this)) revert ERC20InvalidReceiver(to);
        uint256 word = _erc20()._balances[from];
        uint256 balance = word & _BALANCE_MASK;
        if (amount <= balance) {
            // A shortfall reverts with ERC20InsufficientBalance in the hook.
            uint256 frozen = _s().frozenAmounts[from];
            uint256 unfrozen = frozen >= balance ? 0 : balance - frozen;
            bool movesFrozen = word & _FLAG_FROZEN != 0;
            if (amount > unfrozen) {
                _storeFrozenAmount(from, frozen - (amount - unfrozen));
                movesFrozen = true;
            }
            if (movesFrozen) emit Frozen(from, getFrozenTokens(from));
        }
        _setMoveContext(_MOVE_FORCED);
        _transfer(from, to, amount);
        _setMoveContext(0);
        emit ForcedTransfer(from, to, amount);
        return true;
    }

    /// @inheritdoc IERC7943Fungible
    /// @dev Stores `amount` exactly (any uint256); `getFrozenTokens` reads it back unless the whole address is frozen.
    function setFrozenTokens(address account, uint256 amount) external onlyRole(ASSET_PROTECTION_ROLE) returns (bool) {
        _checkListable(account);
        _storeFrozenAmount(account, amount);
        emit Frozen(account, amount);
        return true;
    }

    function _storeFrozenAmount(address account, uint256 amount) private {
        _s().frozenAmounts[account] = amount;
        _setFlag(account, _FLAG_PARTIAL, amount != 0);
    }

    /// @inheritdoc ICommodityToken
    function setAddressFrozen(address account, bool frozen) external onlyRole(ASSET_PROTECTION_ROLE) {
        _checkListable(account);
        _setFlag(account, _FLAG_FROZEN, frozen);
        emit AddressFrozen(account, frozen);
    }

    /// @inheritdoc ICommodityToken
    function isFrozen(address account) public view returns (bool) {
        return _erc20()._balances[account] & _FLAG_FROZEN != 0;
    }

    /// @inheritdoc IERC7943Fungible
    /// @dev A whole-address freeze reports type(uint256).max.
    function getFrozenTokens(address account) public view returns (uint256) {
        if (isFrozen(account)) return type(uint256).max;
        return _s().frozenAmounts[account];
    }

    /// @inheritdoc IERC7943Fungible
    function canSend(address account) public view returns (bool) {
        return _passes(_erc20()._balances[account]);
    }

    /// @inheritdoc IERC7943Fungible
    /// @dev A frozen address can neither send nor receive.
    function canReceive(address account) public view returns (bool) {
        return _passes(_erc20()._balances[account]);
    }

    /// @inheritdoc IERC7943Fungible
    /// @dev False when paused, for a zero or token-contract address, when `from` cannot send or `to` cannot
    ///      receive, or when `amount` (within the balance) exceeds the unfrozen balance.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool) {
        if (paused() || from == address(0) || to == address(0) || to == address(this)) return false;
        if (!canSend(from) || !canReceive(to)) return false;
        uint256 frozen = _s().frozenAmounts[from];
        uint256 balance = balanceOf(from);
        // A plain ERC-20 shortfall (amount > balance) is not a permissioned rule: ERC-7943 leaves it to the base token.
        if (frozen == 0 || amount > balance) return true;
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
        _checkListable(account);
        _setFlag(account, _FLAG_ALLOWLISTED, allowed);
        emit AllowlistUpdated(account, allowed);
    }

    /// @inheritdoc ICommodityToken
    function isAllowlisted(address account) external view returns (bool) {
        return _erc20()._balances[account] & _FLAG_ALLOWLISTED != 0;
    }

    function _checkListable(address account) private view {
        if (account == address(0)) revert ZeroAddress();
        if (account == address(this)) revert InvalidAccount(account);
    }

    function _setFlag(address account, uint256 flag, bool on) private {
        mapping(address => uint256) storage balances = _erc20()._balances;
        balances[account] = on ? balances[account] | flag : balances[account] & ~flag;
    }

    // ------------------------------------------------------------------ pause

    /// @inheritdoc ICommodityToken
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ICommodityToken
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
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
    function unpauseMinting() external onlyRole(DEFAULT_ADMIN_ROLE) {
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

    // ------------------------------------------------------------------ balances and the one hook

    // ------------------------------------------------------------------ balances: CommodityTokenCore's

    /// @notice Balance of `account`.
    /// @param account The holder.
    /// @return The balance in base units.
    function balanceOf(address account) public view override(ERC20Upgradeable, CommodityTokenCore) returns (uint256) {
        return CommodityTokenCore.balanceOf(account);
    }

    function _approve(address owner, address spender, uint256 value, bool emitEvent)
        internal
        override(ERC20Upgradeable, CommodityTokenCore)
    {
        CommodityTokenCore._approve(owner, spender, value, emitEvent);
    }

    function _spendAllowance(address owner, address spender, uint256 value)
        internal
        override(ERC20Upgradeable, CommodityTokenCore)
    {
        CommodityTokenCore._spendAllowance(owner, spender, value);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20Upgradeable, CommodityTokenCore) {
        CommodityTokenCore._update(from, to, value);
    }

    // ------------------------------------------------------------------ upgrades

    /// @dev Only the UPGRADER_ROLE (a TimelockController; the role is administered by itself) may upgrade.
    function _authorizeUpgrade(address) internal override onlyRole(UPGRADER_ROLE) {}
}
