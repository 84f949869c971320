// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAggregatorV3} from "./IAggregatorV3.sol";

/// @title IBasketToken
/// @notice A basket share: one ERC-20 for a fixed bundle of Stockpile commodity tokens held by the basket
///         contract itself. One basket base unit ("share") is backed by exactly `units` base units of every
///         component; create deposits and redeem returns exactly `units x shares` of each, with no rounding.
///         The ERC-20, EIP-2612, AccessControl and ERC-7943 parts come from their own interfaces.
interface IBasketToken {
    /// @notice One component of the composition.
    /// @param token The component CommodityToken.
    /// @param units Component base units backing one basket base unit (share).
    /// @param priceFeed AggregatorV3 feed of the component: USD per whole component token (10^tokenDecimals base units).
    /// @param heartbeat Seconds after which the feed's answer is stale for the NAV.
    /// @param tokenDecimals The component's ERC-20 decimals (read at initialize).
    /// @param feedDecimals The feed's decimals (read when the feed is set).
    struct Component {
        address token;
        uint256 units;
        address priceFeed;
        uint32 heartbeat;
        uint8 tokenDecimals;
        uint8 feedDecimals;
    }

    /// @notice A component as given to `initialize`.
    struct ComponentParams {
        address token;
        uint256 units;
        IAggregatorV3 priceFeed;
        uint32 heartbeat;
    }

    /// @notice An EIP-2612 signature of one component for `createWithPermits`; its value is the exact deposit.
    struct PermitSignature {
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice An EIP-3009 `ReceiveWithAuthorization` of one component for `createWithAuthorizations`, signed by
    ///         the payer for `to` = this basket and `value` = the exact deposit `units x shares`; its nonce is not
    ///         given: the basket derives it with `authorizationNonce(to, shares, salt)`, which binds the
    ///         authorisation to the receiver of the shares (nobody can redirect them).
    /// @param value The amount signed (must equal `units x shares`).
    /// @param validAfter Not valid at or before this time (unix seconds).
    /// @param validBefore Not valid at or after this time (unix seconds).
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    struct ReceiveAuthorization {
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    // ----- events -----
    /// @notice `payer` deposited `amounts` (one per component, in composition order) and `to` received `shares`.
    event Created(address indexed payer, address indexed to, uint256 shares, uint256[] amounts);
    /// @notice `holder` burned `shares` and `to` received `amounts` (one per component, in composition order).
    event Redeemed(address indexed holder, address indexed to, uint256 shares, uint256[] amounts);
    /// @notice `holder` moved `shares` to the successor basket, whose new shares went to `to`.
    event Migrated(address indexed holder, address indexed successor, address indexed to, uint256 shares);
    /// @notice Component `index` of the composition was fixed (at initialize only).
    event ComponentListed(uint256 indexed index, address indexed token, uint256 units);
    /// @notice The price feed (and heartbeat) used for the NAV of `token` was set.
    event ComponentFeedSet(address indexed token, address feed, uint32 heartbeat);
    /// @notice The successor basket for migrations was set (zero: migrations closed).
    event SuccessorSet(address indexed successor);
    /// @notice `amount` of `token` above the backing (a donation or a stray transfer) was sent to `to`.
    event SurplusRecovered(address indexed token, address indexed to, uint256 amount);
    /// @notice The whole-address freeze of `account` on basket shares was set or lifted.
    event AddressFrozen(address indexed account, bool frozen);
    /// @notice Allowlist mode of basket shares was switched on or off.
    event AllowlistModeSet(bool enabled);
    /// @notice `account` was added to (`allowed` true) or removed from the basket's allowlist.
    event AllowlistUpdated(address indexed account, bool allowed);

    // ----- errors -----
    /// @notice Zero shares where a positive number is required.
    error ZeroShares();
    /// @notice The zero address where an account or contract is required.
    error ZeroAddress();
    /// @notice The composition is empty.
    error EmptyComposition();
    /// @notice More than `max` components (`count` given).
    /// @param count Components given.
    /// @param max The limit.
    error TooManyComponents(uint256 count, uint256 max);
    /// @notice A component was given with zero units per share.
    /// @param component The component token.
    error ZeroUnits(address component);
    /// @notice A component appears twice in the composition.
    /// @param component The repeated component token.
    error DuplicateComponent(address component);
    /// @notice `token` is not a component of this basket.
    /// @param token The address given.
    error NotAComponent(address token);
    /// @notice Component `component` is paused: creation, redemption and migration stop.
    /// @param component The paused component token.
    error ComponentPaused(address component);
    /// @notice The basket's holding of `component` is frozen (whole address or a frozen amount):
    ///         creation, redemption and migration stop.
    /// @param component The component token.
    /// @param account The basket (the frozen holder).
    error ComponentFrozen(address component, address account);
    /// @notice `component` is in allowlist mode and the basket is not an allowed holder.
    /// @param component The component token.
    error BasketNotAllowlisted(address component);
    /// @notice `component` refuses to move `amount` from `from` to `to` (its ERC-7943 `canTransfer` is false).
    /// @param component The component token.
    /// @param from Sender of the component.
    /// @param to Receiver of the component.
    /// @param amount Component base units.
    error ComponentTransferRefused(address component, address from, address to, uint256 amount);
    /// @notice The price of `component` is missing: no feed, no round yet, or the feed call reverted.
    /// @param component The component token.
    error ComponentPriceMissing(address component);
    /// @notice The price of `component` is zero or negative.
    /// @param component The component token.
    /// @param answer The feed's answer.
    error ComponentPriceInvalid(address component, int256 answer);
    /// @notice The price of `component` was updated at `updatedAt`, more than `heartbeat` seconds ago.
    /// @param component The component token.
    /// @param updatedAt The feed's updatedAt.
    /// @param heartbeat The heartbeat configured in the basket.
    error ComponentPriceStale(address component, uint256 updatedAt, uint256 heartbeat);
    /// @notice The NAV of round `roundId` is not available (only the latest round is served).
    /// @param roundId The round asked for.
    error RoundNotAvailable(uint80 roundId);
    /// @notice No successor basket is set: migration is closed.
    error NoSuccessor();
    /// @notice `successor` cannot be a successor (this basket itself, or no composition).
    /// @param successor The address given.
    error InvalidSuccessor(address successor);
    /// @notice `given` permit signatures for `expected` components.
    /// @param given Signatures given.
    /// @param expected Components in the composition.
    error PermitCountMismatch(uint256 given, uint256 expected);
    /// @notice `given` authorisations for `expected` components.
    /// @param given Authorisations given.
    /// @param expected Components in the composition.
    error AuthorizationCountMismatch(uint256 given, uint256 expected);
    /// @notice The authorisation of `component` is for `signed` base units, not the exact deposit `expected`.
    /// @param component The component token.
    /// @param signed The value of the authorisation.
    /// @param expected `units x shares`.
    error AuthorizationAmountMismatch(address component, uint256 signed, uint256 expected);
    /// @notice Nothing of `token` above the backing to recover.
    /// @param token The token.
    error NoSurplus(address token);
    /// @notice The whole address `account` is frozen on basket shares.
    /// @param account The frozen account.
    error AccountFrozen(address account);

    // ----- create / redeem / migrate -----
    /// @notice Deposit exactly `units x shares` of every component (ERC-20 allowances to this basket) and mint
    ///         `shares` to `to`.
    /// @param shares Basket base units to create.
    /// @param to Receiver of the shares.
    function create(uint256 shares, address to) external;

    /// @notice `create` with one EIP-2612 permit per component (composition order), each for exactly the
    ///         deposit `units x shares`, spender this basket, owner the caller. A permit that fails (already
    ///         used, e.g. front-run) is skipped: the deposit then needs an existing allowance.
    /// @param shares Basket base units to create.
    /// @param to Receiver of the shares.
    /// @param permits One signature per component.
    function createWithPermits(uint256 shares, address to, PermitSignature[] calldata permits) external;

    /// @notice `create` paid by `payer` with one EIP-3009 `receiveWithAuthorization` per component (composition
    ///         order): each signed by `payer` for `to` = this basket, `value` = exactly `units x shares` and nonce
    ///         `authorizationNonce(to, shares, salt)`. Anyone may submit it (a relayer pays the gas); only this
    ///         basket can use the authorisations, and only for these `shares` to this `to`.
    /// @param shares Basket base units to create.
    /// @param to Receiver of the shares (bound by the nonce).
    /// @param payer Owner of the components, signer of every authorisation.
    /// @param salt Chosen by the payer so that the same (to, shares) can be authorised more than once.
    /// @param authorizations One authorisation per component.
    function createWithAuthorizations(
        uint256 shares,
        address to,
        address payer,
        bytes32 salt,
        ReceiveAuthorization[] calldata authorizations
    ) external;

    /// @notice The EIP-3009 nonce every component authorisation of `createWithAuthorizations(shares, to, ., salt, .)`
    ///         must be signed with: `keccak256(abi.encode(to, shares, salt))`.
    /// @param to Receiver of the shares.
    /// @param shares Basket base units.
    /// @param salt The payer's salt.
    /// @return nonce The nonce.
    function authorizationNonce(address to, uint256 shares, bytes32 salt) external pure returns (bytes32 nonce);

    /// @notice Burn `shares` of the caller and send exactly `units x shares` of every component to `to`.
    /// @param shares Basket base units to redeem.
    /// @param to Receiver of the components.
    function redeem(uint256 shares, address to) external;

    /// @notice Burn `shares` of the caller here and create the same number of shares of the successor basket
    ///         for `to`, in one transaction. Components the successor needs beyond what the redeemed shares
    ///         free are pulled from the caller (allowance to this basket); components freed beyond what the
    ///         successor needs are sent to the caller.
    /// @param shares Basket base units to migrate.
    /// @param to Receiver of the successor's shares.
    function migrate(uint256 shares, address to) external;

    // ----- views -----
    /// @notice Number of components.
    /// @return count The number of components.
    function componentCount() external view returns (uint256 count);

    /// @notice Component `index` of the composition.
    /// @param index Position in the composition.
    /// @return component The component.
    function getComponent(uint256 index) external view returns (Component memory component);

    /// @notice The whole composition, in order.
    /// @return components Every component.
    function composition() external view returns (Component[] memory components);

    /// @notice Component base units that `shares` basket base units stand for (deposit on create, payout on redeem).
    /// @param shares Basket base units.
    /// @return tokens Component tokens, in composition order.
    /// @return amounts `units x shares` per component.
    function amountsFor(uint256 shares) external view returns (address[] memory tokens, uint256[] memory amounts);

    /// @notice Whether every component balance of the basket is at least totalSupply x units.
    /// @return backed True when every share is fully backed.
    function isFullyBacked() external view returns (bool backed);

    /// @notice Balance of `token` held by the basket above its backing (the whole balance for a non-component).
    /// @param token Any ERC-20.
    /// @return amount The surplus (0 when the holding is at or below the backing).
    function surplus(address token) external view returns (uint256 amount);

    /// @notice The successor basket for migrations (zero when closed).
    /// @return basket The successor.
    function successor() external view returns (address basket);
}
