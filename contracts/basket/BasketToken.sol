// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {ERC20PermitUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20PermitUpgradeable.sol";
import {AccessControlDefaultAdminRulesUpgradeable} from
    "@openzeppelin/contracts-upgradeable/access/extensions/AccessControlDefaultAdminRulesUpgradeable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

import {IAggregatorV3} from "../interfaces/IAggregatorV3.sol";
import {IBasketToken} from "../interfaces/IBasketToken.sol";
import {IERC7943Fungible} from "../interfaces/IERC7943.sol";
import {IBasketComponent} from "../interfaces/IBasketComponent.sol";
import {IERC3009} from "../interfaces/IERC3009.sol";

/// @title BasketToken
/// @notice One ERC-20 (+ EIP-2612) share for a fixed bundle of Stockpile commodity tokens held by this
///         contract: one share (basket base unit) is backed by exactly `units` base units of every
///         component. Create deposits exactly `units x shares` of every component and mints `shares`;
///         redeem burns `shares` and pays exactly `units x shares` back. No rounding anywhere, so for every
///         component `balanceOf(basket) >= totalSupply x units` at all times (equal unless someone sends
///         component tokens to the basket directly: such a donation is surplus, never paid out by
///         redemptions; the admin may send the surplus (only what exceeds the backing) elsewhere).
///         NAV per whole share in USD is computed by BasketNavFeed (a Chainlink-style feed) from each
///         component's AggregatorV3 feed and heartbeat recorded here.
/// @dev Deployed behind an ERC1967Proxy (UUPS); state in the ERC-7201 namespace `stockpile.storage.BasketToken`.
///      The composition is fixed at initialize. Re-composition: the timelock deploys a new basket and sets it
///      as `successor`; holders `migrate` (redeem here and create there in one transaction).
contract BasketToken is
    Initializable,
    ERC20Upgradeable,
    ERC20PermitUpgradeable,
    AccessControlDefaultAdminRulesUpgradeable,
    PausableUpgradeable,
    UUPSUpgradeable,
    ReentrancyGuardTransient,
    IBasketToken,
    IERC7943Fungible
{
    using SafeERC20 for IERC20;

    bytes32 public constant ASSET_PROTECTION_ROLE = keccak256("ASSET_PROTECTION_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");
    /// @notice Upgrades, successor and price feeds: held by the TimelockController, administered by itself.
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");

    /// @notice Most components a basket may have (bounds the gas of create and redeem).
    uint256 public constant MAX_COMPONENTS = 16;

    /// @dev Stored frozen amounts at this value mean "everything" (reported as type(uint256).max).
    uint240 private constant FROZEN_ALL = type(uint240).max;

    /// @notice Arguments of `initialize`.
    struct InitParams {
        string name;
        string symbol;
        uint8 decimals;
        address admin; // DEFAULT_ADMIN_ROLE (two-step, delayed handover)
        uint48 adminTransferDelay; // seconds
        address upgrader; // UPGRADER_ROLE: the TimelockController
        ComponentParams[] components;
    }

    /// @dev Per-account compliance record of basket shares: one slot.
    struct AccountState {
        bool frozen;
        bool allowlisted;
        uint240 frozenAmount;
    }

    /// @custom:storage-location erc7201:stockpile.storage.BasketToken
    struct BasketTokenStorage {
        uint8 decimals;
        bool allowlistMode;
        address successor;
        Component[] components;
        mapping(address token => uint256) indexPlusOne;
        mapping(address account => AccountState) accounts;
    }

    // keccak256(abi.encode(uint256(keccak256("stockpile.storage.BasketToken")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_LOCATION = 0x376e4a94bdaefc1de560f9866a61fa7336bfb5269574f3e3d68fd8054b5aa200;

    function _s() private pure returns (BasketTokenStorage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Initializes the proxy's state: metadata, roles and the (fixed) composition.
    /// @param p See `InitParams`. `admin` gets DEFAULT_ADMIN_ROLE, `upgrader` (a TimelockController)
    ///        UPGRADER_ROLE, which only UPGRADER_ROLE holders can grant or revoke.
    function initialize(InitParams calldata p) external initializer {
        if (p.admin == address(0) || p.upgrader == address(0)) revert ZeroAddress();
        uint256 n = p.components.length;
        if (n == 0) revert EmptyComposition();
        if (n > MAX_COMPONENTS) revert TooManyComponents(n, MAX_COMPONENTS);
        __ERC20_init(p.name, p.symbol);
        __ERC20Permit_init(p.name);
        __AccessControlDefaultAdminRules_init(p.adminTransferDelay, p.admin);
        __Pausable_init();
        _setRoleAdmin(UPGRADER_ROLE, UPGRADER_ROLE);
        _grantRole(UPGRADER_ROLE, p.upgrader);
        BasketTokenStorage storage $ = _s();
        $.decimals = p.decimals;
        for (uint256 i; i < n; ++i) {
            ComponentParams calldata c = p.components[i];
            if (c.token == address(0) || c.token == address(this)) revert ZeroAddress();
            if (c.units == 0) revert ZeroUnits(c.token);
            if ($.indexPlusOne[c.token] != 0) revert DuplicateComponent(c.token);
            $.components.push(
                Component({
                    token: c.token,
                    units: c.units,
                    priceFeed: address(0),
                    heartbeat: 0,
                    tokenDecimals: IERC20Metadata(c.token).decimals(),
                    feedDecimals: 0
                })
            );
            $.indexPlusOne[c.token] = i + 1;
            emit ComponentListed(i, c.token, c.units);
            if (address(c.priceFeed) != address(0)) _setFeed($, i, c.priceFeed, c.heartbeat);
        }
    }

    // ------------------------------------------------------------------ metadata

    /// @notice Decimals of the basket share (set at initialize; one base unit is one "share" of the composition).
    /// @return The decimals.
    function decimals() public view override returns (uint8) {
        return _s().decimals;
    }

    /// @notice ERC-165: ERC-7943 fungible, IBasketToken, AccessControl and its default-admin rules.
    /// @param interfaceId The interface id.
    /// @return Whether it is supported.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControlDefaultAdminRulesUpgradeable, IERC165)
        returns (bool)
    {
        return interfaceId == type(IERC7943Fungible).interfaceId || interfaceId == type(IBasketToken).interfaceId
            || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ create / redeem / migrate

    /// @inheritdoc IBasketToken
    function create(uint256 shares, address to) external nonReentrant whenNotPaused {
        _create(_msgSender(), shares, to, 0, _noAuthorizations());
    }

    /// @inheritdoc IBasketToken
    function createWithPermits(uint256 shares, address to, PermitSignature[] calldata permits)
        external
        nonReentrant
        whenNotPaused
    {
        Component[] storage cs = _s().components;
        uint256 n = cs.length;
        if (permits.length != n) revert PermitCountMismatch(permits.length, n);
        address payer = _msgSender();
        for (uint256 i; i < n; ++i) {
            PermitSignature calldata ps = permits[i];
            // A permit already spent (front-run) is skipped; the transferFrom below then needs an allowance.
            try IERC20Permit(cs[i].token).permit(payer, address(this), cs[i].units * shares, ps.deadline, ps.v, ps.r, ps.s) {}
                catch {}
        }
        _create(payer, shares, to, 0, _noAuthorizations());
    }

    /// @inheritdoc IBasketToken
    function createWithAuthorizations(
        uint256 shares,
        address to,
        address payer,
        bytes32 salt,
        ReceiveAuthorization[] calldata authorizations
    ) external nonReentrant whenNotPaused {
        uint256 n = _s().components.length;
        // Never empty here (an empty list would make `_create` pull by allowance from a payer who is not the caller).
        if (authorizations.length != n) revert AuthorizationCountMismatch(authorizations.length, n);
        _create(payer, shares, to, authorizationNonce(to, shares, salt), authorizations);
    }

    /// @inheritdoc IBasketToken
    function authorizationNonce(address to, uint256 shares, bytes32 salt) public pure returns (bytes32 nonce) {
        return keccak256(abi.encode(to, shares, salt));
    }

    /// @dev An empty calldata list: `_create` then pulls every component from `payer` by `transferFrom`.
    function _noAuthorizations() private pure returns (ReceiveAuthorization[] calldata none) {
        assembly {
            none.offset := 0
            none.length := 0
        }
    }

    /// @dev Deposit exactly `units x shares` of every component from `payer` (by allowance when `auths` is empty,
    ///      otherwise by each component's EIP-3009 `receiveWithAuthorization` with `nonce`), then mint.
    // slither-disable-next-line reentrancy-no-eth - every caller is nonReentrant (transient guard), the components are fixed at initialize, and shares are minted only after every deposit arrived
    function _create(address payer, uint256 shares, address to, bytes32 nonce, ReceiveAuthorization[] calldata auths)
        private
    {
        if (shares == 0) revert ZeroShares();
        _checkReceiver(to);
        Component[] storage cs = _s().components;
        uint256 n = cs.length;
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            address token = cs[i].token;
            uint256 amount = cs[i].units * shares;
            amounts[i] = amount;
            _checkComponent(token, payer, address(this), amount);
            if (auths.length == 0) {
                IERC20(token).safeTransferFrom(payer, address(this), amount);
            } else {
                _receive(token, payer, amount, nonce, auths[i]);
            }
        }
        _mint(to, shares);
        emit Created(payer, to, shares, amounts);
    }

    /// @dev One component by its EIP-3009 authorisation: exactly `amount`, or `AuthorizationAmountMismatch`.
    function _receive(address token, address payer, uint256 amount, bytes32 nonce, ReceiveAuthorization calldata a)
        private
    {
        if (a.value != amount) revert AuthorizationAmountMismatch(token, a.value, amount);
        // Only this basket (the payee) can use it: receiveWithAuthorization refuses any other caller.
        IERC3009(token).receiveWithAuthorization(
            payer, address(this), amount, a.validAfter, a.validBefore, nonce, a.v, a.r, a.s
        );
    }

    /// @inheritdoc IBasketToken
    function redeem(uint256 shares, address to) external nonReentrant whenNotPaused {
        if (shares == 0) revert ZeroShares();
        if (to == address(0)) revert ZeroAddress();
        if (to == address(this)) revert ERC20InvalidReceiver(to); // would leave the components here as surplus
        address holder = _msgSender();
        _checkSender(holder, shares);
        _burn(holder, shares);
        Component[] storage cs = _s().components;
        uint256 n = cs.length;
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            address token = cs[i].token;
            uint256 amount = cs[i].units * shares;
            amounts[i] = amount;
            _checkComponent(token, address(this), to, amount);
            IERC20(token).safeTransfer(to, amount);
        }
        emit Redeemed(holder, to, shares, amounts);
    }

    /// @inheritdoc IBasketToken
    function migrate(uint256 shares, address to) external nonReentrant whenNotPaused {
        BasketTokenStorage storage $ = _s();
        address next = $.successor;
        if (next == address(0)) revert NoSuccessor();
        if (shares == 0) revert ZeroShares();
        if (to == address(this)) revert ERC20InvalidReceiver(to);
        address holder = _msgSender();
        _checkSender(holder, shares);
        _burn(holder, shares);
        Component[] memory target = IBasketToken(next).composition();
        // Pull what the successor needs beyond what the burned shares free here, and approve its deposit.
        for (uint256 j; j < target.length; ++j) {
            address token = target[j].token;
            uint256 need = target[j].units * shares;
            uint256 freed = _freed($, token, shares);
            if (need > freed) {
                _checkComponent(token, holder, address(this), need - freed);
                IERC20(token).safeTransferFrom(holder, address(this), need - freed);
            }
            IERC20(token).forceApprove(next, need);
        }
        IBasketToken(next).create(shares, to);
        // Pay out what the burned shares free beyond what the successor took.
        Component[] storage cs = $.components;
        for (uint256 i; i < cs.length; ++i) {
            address token = cs[i].token;
            uint256 freed = cs[i].units * shares;
            uint256 taken = _unitsIn(target, token) * shares;
            if (freed > taken) {
                _checkComponent(token, address(this), holder, freed - taken);
                IERC20(token).safeTransfer(holder, freed - taken);
            }
        }
        emit Migrated(holder, next, to, shares);
    }

    function _freed(BasketTokenStorage storage $, address token, uint256 shares) private view returns (uint256) {
        uint256 idx = $.indexPlusOne[token];
        return idx == 0 ? 0 : $.components[idx - 1].units * shares;
    }

    function _unitsIn(Component[] memory cs, address token) private pure returns (uint256) {
        for (uint256 i; i < cs.length; ++i) {
            if (cs[i].token == token) return cs[i].units;
        }
        return 0;
    }

    /// @dev Compliance follows the components: a paused component, a (partly) frozen basket holding, a basket
    ///      missing from a component's allowlist or any other refusal of the component's ERC-7943 rules stops
    ///      the movement with an error naming the component.
    function _checkComponent(address token, address from, address to, uint256 amount) private view {
        IBasketComponent c = IBasketComponent(token);
        if (c.getFrozenTokens(address(this)) != 0) revert ComponentFrozen(token, address(this));
        if (c.canTransfer(from, to, amount)) return;
        if (c.paused()) revert ComponentPaused(token);
        if (c.allowlistMode() && !c.isAllowlisted(address(this))) revert BasketNotAllowlisted(token);
        revert ComponentTransferRefused(token, from, to, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IBasketToken
    function componentCount() external view returns (uint256 count) {
        return _s().components.length;
    }

    /// @inheritdoc IBasketToken
    function getComponent(uint256 index) external view returns (Component memory component) {
        return _s().components[index];
    }

    /// @inheritdoc IBasketToken
    function composition() external view returns (Component[] memory components) {
        return _s().components;
    }

    /// @inheritdoc IBasketToken
    function amountsFor(uint256 shares) external view returns (address[] memory tokens, uint256[] memory amounts) {
        Component[] storage cs = _s().components;
        tokens = new address[](cs.length);
        amounts = new uint256[](cs.length);
        for (uint256 i; i < cs.length; ++i) {
            tokens[i] = cs[i].token;
            amounts[i] = cs[i].units * shares;
        }
    }

    /// @inheritdoc IBasketToken
    function isFullyBacked() external view returns (bool backed) {
        Component[] storage cs = _s().components;
        uint256 supply = totalSupply();
        for (uint256 i; i < cs.length; ++i) {
            if (IERC20(cs[i].token).balanceOf(address(this)) < cs[i].units * supply) return false;
        }
        return true;
    }

    /// @inheritdoc IBasketToken
    function surplus(address token) public view returns (uint256 amount) {
        uint256 balance = IERC20(token).balanceOf(address(this));
        uint256 backing = _freed(_s(), token, totalSupply());
        return balance > backing ? balance - backing : 0;
    }

    /// @inheritdoc IBasketToken
    function successor() external view returns (address basket) {
        return _s().successor;
    }

    // ------------------------------------------------------------------ governance (timelock)

    /// @notice Open migrations to `next` (a basket with the new composition), or close them with zero.
    ///         Only through the timelock (UPGRADER_ROLE). See contracts/basket/README.md for the procedure.
    /// @param next The successor basket (zero to close).
    function setSuccessor(address next) external onlyRole(UPGRADER_ROLE) {
        if (next == address(this)) revert InvalidSuccessor(next);
        if (next != address(0) && IBasketToken(next).componentCount() == 0) revert InvalidSuccessor(next);
        _s().successor = next;
        emit SuccessorSet(next);
    }

    /// @notice Set the price feed and heartbeat used for the NAV of component `token` (timelock only: it moves
    ///         price trust).
    /// @param token The component.
    /// @param feed Its AggregatorV3 feed (USD per whole component token).
    /// @param heartbeat Seconds after which its answer is stale.
    function setComponentFeed(address token, IAggregatorV3 feed, uint32 heartbeat)
        external
        onlyRole(UPGRADER_ROLE)
    {
        BasketTokenStorage storage $ = _s();
        uint256 idx = $.indexPlusOne[token];
        if (idx == 0) revert NotAComponent(token);
        if (address(feed) == address(0)) revert ZeroAddress();
        _setFeed($, idx - 1, feed, heartbeat);
    }

    function _setFeed(BasketTokenStorage storage $, uint256 index, IAggregatorV3 feed, uint32 heartbeat) private {
        Component storage c = $.components[index];
        c.priceFeed = address(feed);
        c.heartbeat = heartbeat;
        c.feedDecimals = feed.decimals();
        emit ComponentFeedSet(c.token, address(feed), heartbeat);
    }

    /// @notice Send what the basket holds of `token` above its backing (a donation, a stray transfer) to `to`.
    ///         The backing `totalSupply x units` can never be moved this way.
    /// @param token Any ERC-20 (a component or not).
    /// @param to Receiver.
    function recoverSurplus(address token, address to) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = surplus(token);
        // slither-disable-next-line incorrect-equality - only refuses an empty recovery; any other amount is a surplus above the backing
        if (amount == 0) revert NoSurplus(token);
        IERC20(token).safeTransfer(to, amount);
        emit SurplusRecovered(token, to, amount);
    }

    // ------------------------------------------------------------------ asset protection (ERC-7943)

    /// @inheritdoc IERC7943Fungible
    function forcedTransfer(address from, address to, uint256 amount)
        external
        onlyRole(ASSET_PROTECTION_ROLE)
        returns (bool)
    {
        if (amount == 0) revert ZeroShares();
        if (from == address(0) || to == address(0)) revert ZeroAddress();
        if (to == address(this)) revert ERC20InvalidReceiver(to);
        _checkReceiver(to);
        AccountState storage src = _s().accounts[from];
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
        ERC20Upgradeable._update(from, to, amount);
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

    /// @notice Freeze (or unfreeze) every basket share of `account`: it cannot transfer or redeem them.
    /// @param account The account.
    /// @param frozen True to freeze.
    function setAddressFrozen(address account, bool frozen) external onlyRole(ASSET_PROTECTION_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        _s().accounts[account].frozen = frozen;
        emit AddressFrozen(account, frozen);
    }

    /// @notice Whether the whole address `account` is frozen on basket shares.
    /// @param account The account.
    /// @return Whether it is frozen.
    function isFrozen(address account) external view returns (bool) {
        return _s().accounts[account].frozen;
    }

    /// @inheritdoc IERC7943Fungible
    function getFrozenTokens(address account) public view returns (uint256) {
        AccountState memory a = _s().accounts[account];
        if (a.frozen || a.frozenAmount == FROZEN_ALL) return type(uint256).max;
        return a.frozenAmount;
    }

    /// @inheritdoc IERC7943Fungible
    function canSend(address account) public view returns (bool) {
        BasketTokenStorage storage $ = _s();
        AccountState memory a = $.accounts[account];
        return !a.frozen && (!$.allowlistMode || a.allowlisted);
    }

    /// @inheritdoc IERC7943Fungible
    function canReceive(address account) public view returns (bool) {
        BasketTokenStorage storage $ = _s();
        return !$.allowlistMode || $.accounts[account].allowlisted;
    }

    /// @inheritdoc IERC7943Fungible
    function canTransfer(address from, address to, uint256 amount) external view returns (bool) {
        if (paused() || from == address(0) || to == address(0) || to == address(this)) return false;
        if (!canSend(from) || !canReceive(to)) return false;
        uint256 frozen = getFrozenTokens(from);
        if (frozen == 0) return true;
        uint256 balance = balanceOf(from);
        if (amount > balance) return true;
        return amount <= (frozen >= balance ? 0 : balance - frozen);
    }

    // ------------------------------------------------------------------ compliance

    /// @notice Switch allowlist mode of basket shares on or off (senders, receivers and creators' receivers
    ///         must then be listed).
    /// @param enabled True to switch on.
    function setAllowlistMode(bool enabled) external onlyRole(COMPLIANCE_ROLE) {
        _s().allowlistMode = enabled;
        emit AllowlistModeSet(enabled);
    }

    /// @notice Whether allowlist mode is on.
    /// @return Whether it is on.
    function allowlistMode() external view returns (bool) {
        return _s().allowlistMode;
    }

    /// @notice Add `account` to (or remove it from) the allowlist of basket shares.
    /// @param account The account.
    /// @param allowed True to add.
    function setAllowlisted(address account, bool allowed) external onlyRole(COMPLIANCE_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        _s().accounts[account].allowlisted = allowed;
        emit AllowlistUpdated(account, allowed);
    }

    /// @notice Whether `account` is on the allowlist of basket shares.
    /// @param account The account.
    /// @return Whether it is listed.
    function isAllowlisted(address account) external view returns (bool) {
        return _s().accounts[account].allowlisted;
    }

    // ------------------------------------------------------------------ pause

    /// @notice Stop transfers, create, redeem and migrate of basket shares.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resume them.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ hooks

    /// @dev Holder-initiated share transfers (transfer, transferFrom). Mints and burns (create, redeem,
    ///      migrate) and forced transfers call ERC20Upgradeable._update directly after their own checks.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            _requireNotPaused();
            if (to == address(this)) revert ERC20InvalidReceiver(to);
            _checkSender(from, value);
            if (!canReceive(to)) revert ERC7943CannotReceive(to);
        }
        super._update(from, to, value);
    }

    function _checkSender(address from, uint256 value) private view {
        BasketTokenStorage storage $ = _s();
        AccountState memory a = $.accounts[from];
        if (a.frozen) revert ERC7943CannotSend(from);
        if ($.allowlistMode && !a.allowlisted) revert ERC7943CannotSend(from);
        if (a.frozenAmount != 0) {
            uint256 balance = balanceOf(from);
            if (value > balance) return; // ERC20InsufficientBalance from the ERC-20 core
            uint256 unfrozen = a.frozenAmount >= balance ? 0 : balance - a.frozenAmount;
            if (value > unfrozen) revert ERC7943InsufficientUnfrozenBalance(from, value, unfrozen);
        }
    }

    function _checkReceiver(address to) private view {
        if (to == address(0)) revert ZeroAddress();
        if (to == address(this)) revert ERC20InvalidReceiver(to);
        if (_s().accounts[to].frozen) revert AccountFrozen(to);
        if (!canReceive(to)) revert ERC7943CannotReceive(to);
    }

    /// @dev Only the UPGRADER_ROLE (a TimelockController) may upgrade.
    function _authorizeUpgrade(address) internal override onlyRole(UPGRADER_ROLE) {}
}
