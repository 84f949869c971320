// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IReserveAttestor} from "./IReserveAttestor.sol";

/// @title ICommodityToken
/// @notice Stockpile-specific surface of a warehouse-backed commodity token: secure mint,
///         redemption escrow, freezing, allowlist and configuration. The ERC-20, EIP-2612,
///         AccessControl and ERC-7943 parts come from their own interfaces.
interface ICommodityToken {
    /// @notice Life cycle of a redemption request.
    /// @dev Processing (appended, value 5): accepted by the operator, material being delivered; no cancel.
    enum RedemptionStatus { None, Pending, Completed, Rejected, Cancelled, Processing }

    /// @notice A redemption request as stored.
    struct Redemption {
        address holder;
        uint64 requestedAt;
        RedemptionStatus status;
        uint256 amount;
        bytes32 deliveryRef;
    }

    // ----- events -----
    /// @notice `amount` was minted to `to` by `minter` under the idempotency key `mintId`.
    event Minted(bytes32 indexed mintId, address indexed to, uint256 amount, address indexed minter);
    /// @notice `holder` moved `amount` into escrow for physical delivery `deliveryRef`.
    event RedemptionRequested(uint256 indexed id, address indexed holder, uint256 amount, bytes32 deliveryRef);
    /// @notice The operator accepted request `id` (Pending -> Processing): delivery starts, the holder can no longer cancel.
    event RedemptionAccepted(uint256 indexed id, address indexed holder, uint256 amount);
    /// @notice The escrowed `amount` of request `id` was burned (material delivered).
    event RedemptionCompleted(uint256 indexed id, address indexed holder, uint256 amount);
    /// @notice Request `id` was refused by the operator and `amount` refunded to `holder`.
    event RedemptionRejected(uint256 indexed id, address indexed holder, uint256 amount, bytes32 reasonCode);
    /// @notice `holder` withdrew pending request `id`; `amount` was refunded.
    event RedemptionCancelled(uint256 indexed id, address indexed holder, uint256 amount);
    /// @notice The whole-address freeze of `account` was set (`frozen` true) or lifted.
    event AddressFrozen(address indexed account, bool frozen);
    /// @notice Allowlist mode was switched on or off.
    event AllowlistModeSet(bool enabled);
    /// @notice `account` was added to (`allowed` true) or removed from the allowlist.
    event AllowlistUpdated(address indexed account, bool allowed);
    /// @notice The token bucket of `minter` was configured.
    event MinterLimitSet(address indexed minter, uint256 capacity, uint256 refillPerSecond);
    /// @notice The reserve attestor used for secure mint changed.
    event ReserveAttestorSet(address indexed attestor);
    /// @notice The maximum accepted attestation age (seconds) changed.
    event MaxAttestationAgeSet(uint64 maxAge);
    /// @notice The minimum redeemable amount changed.
    event MinimumRedemptionSet(uint256 minimum);
    /// @notice Minting was suspended by `account` (transfers and redemptions go on).
    event MintingPaused(address account);
    /// @notice Minting was resumed by `account`.
    event MintingUnpaused(address account);
    /// @notice `minter` may (`allowed` true) or may no longer mint to `to` when its destinations are restricted.
    event MintDestinationSet(address indexed minter, address indexed to, bool allowed);
    /// @notice `minter`'s mints were restricted to its listed destinations (`restricted` true) or opened to any address.
    event MintDestinationsRestricted(address indexed minter, bool restricted);

    // ----- errors -----
    /// @notice Zero amount where a positive one is required.
    error ZeroAmount();
    /// @notice The zero address where an account is required.
    error ZeroAddress();
    /// @notice `mintId` was already used by an earlier mint.
    error MintIdUsed(bytes32 mintId);
    /// @notice The minter's token bucket holds less than requested.
    error RateLimited(address minter, uint256 requested, uint256 available);
    /// @notice totalSupply + amount would exceed the attested reserve.
    error ReserveExceeded(uint256 requested, uint256 available);
    /// @notice The latest attestation (as of `asOf`) is older than `maxAge` seconds.
    error AttestationStale(uint64 asOf, uint64 maxAge);
    /// @notice No reserve attestor is configured or it has no attestation yet.
    error NoAttestation();
    /// @notice The whole address `account` is frozen.
    error AccountFrozen(address account);
    /// @notice The redemption amount is below the configured minimum.
    error RedemptionBelowMinimum(uint256 amount, uint256 minimum);
    /// @notice Request `id` is not pending (its status is `status`).
    error RedemptionNotPending(uint256 id, RedemptionStatus status);
    /// @notice Request `id` is not being processed (its status is `status`): accept it before completing it.
    error RedemptionNotProcessing(uint256 id, RedemptionStatus status);
    /// @notice Request `id` is neither pending nor processing (its status is `status`).
    error RedemptionNotOpen(uint256 id, RedemptionStatus status);
    /// @notice `caller` is not the holder of request `id`.
    error NotRedemptionHolder(uint256 id, address caller);
    /// @notice The reserve attestor attests another product than this token's.
    error AttestorProductMismatch(string expected, string actual);
    /// @notice A configuration value does not fit its storage field.
    error ValueTooLarge(uint256 value);
    /// @notice The attestor is bound to `boundToken`, not to this token (see IReserveAttestor.bindToken).
    error AttestorNotBound(address attestor, address boundToken);
    /// @notice The attestor's decimals `attestorDecimals` differ from the token's `tokenDecimals`.
    error AttestorDecimalsMismatch(uint8 tokenDecimals, uint8 attestorDecimals);
    /// @notice `minter` may only mint to its listed destinations and `to` is not one of them.
    error MintDestinationNotAllowed(address minter, address to);
    /// @notice No function with selector `selector` (the fallback serves only EIP-3009).
    error UnknownFunction(bytes4 selector);
    /// @notice `account` cannot be frozen or listed (the token's own escrow address).
    error InvalidAccount(address account);
    /// @notice Minting is suspended (e.g. by a guardian after supply exceeded the attested reserve).
    error MintingIsPaused();
    /// @notice `pauseMinting` / `unpauseMinting` found minting already in the requested state.
    error MintingPauseUnchanged(bool paused);

    // ----- metadata -----
    /// @notice The product code this token represents (e.g. "NDPR-OX-995").
    function productCode() external view returns (string memory);
    /// @notice Human description of one token unit (e.g. "NdPr oxide, 1 kg, 99.5%").
    function unitDescription() external view returns (string memory);

    // ----- mint -----
    /// @notice Mints `amount` to `to` once per `mintId`, within the caller's rate limit and the attested reserve.
    function mint(address to, uint256 amount, bytes32 mintId) external;
    /// @notice Whether `mintId` has been used.
    function mintIdUsed(bytes32 mintId) external view returns (bool);
    /// @notice Tokens `minter` may mint now according to its token bucket.
    function availableToMint(address minter) external view returns (uint256);
    /// @notice Configures `minter`'s token bucket (capacity and refill per second). Raising (GOVERNOR_ROLE, the
    ///         timelock) starts the bucket full; lowering (DEFAULT_ADMIN_ROLE too, immediate) keeps
    ///         available = min(available now, new capacity).
    function setMinterLimit(address minter, uint256 capacity, uint256 refillPerSecond) external;
    /// @notice Revokes MINTER_ROLE from `minter` at once (DEFAULT_ADMIN_ROLE or GOVERNOR_ROLE).
    function revokeMinter(address minter) external;
    /// @notice Restricts (`restricted` true: admin or governor) or opens (governor) `minter`'s mint destinations.
    function setMintDestinationsRestricted(address minter, bool restricted) external;
    /// @notice Lists (`allowed` true: governor) or unlists (admin or governor) `to` as a destination of `minter`.
    function setMintDestination(address minter, address to, bool allowed) external;
    /// @notice Whether `minter` may mint to `to` (always true when its destinations are not restricted).
    function canMintToAddress(address minter, address to) external view returns (bool);
    /// @notice Tokens burned (completed redemptions) at or after `asOf` - what secure mint adds to the supply
    ///         against an attestation as of `asOf`; `burnedSince(0)` is everything ever burned.
    function burnedSince(uint64 asOf) external view returns (uint256);
    /// @notice The reserve attestor consulted by secure mint.
    function reserveAttestor() external view returns (IReserveAttestor);
    /// @notice Sets the reserve attestor consulted by secure mint (GOVERNOR_ROLE): it must attest this token's
    ///         product code, be bound to this token and have this token's decimals.
    function setReserveAttestor(IReserveAttestor attestor) external;
    /// @notice Maximum age (seconds) of the attestation accepted by secure mint.
    function maxAttestationAge() external view returns (uint64);
    /// @notice Sets the maximum attestation age in seconds (raising: GOVERNOR_ROLE; lowering: DEFAULT_ADMIN_ROLE too).
    function setMaxAttestationAge(uint64 maxAge) external;

    // ----- redemption -----
    /// @notice Moves `amount` of the caller's tokens to escrow and opens a redemption request.
    function requestRedemption(uint256 amount, bytes32 deliveryRef) external returns (uint256 id);
    /// @notice Accepts pending request `id` (Pending -> Processing): from now on the holder cannot cancel.
    function acceptRedemption(uint256 id) external;
    /// @notice Burns the escrow of accepted request `id` (Processing -> Completed: delivery done).
    function completeRedemption(uint256 id) external;
    /// @notice Refunds pending or accepted request `id` to its holder with a reason code.
    function rejectRedemption(uint256 id, bytes32 reasonCode) external;
    /// @notice Lets the holder withdraw their request `id` (refund) while it is Pending, i.e. not accepted.
    function cancelRedemption(uint256 id) external;
    /// @notice A redemption request.
    function getRedemption(uint256 id) external view returns (Redemption memory);
    /// @notice Number of redemption requests ever made (ids are 1..count).
    function redemptionCount() external view returns (uint256);
    /// @notice Sum of the amounts of all pending and processing requests (held at the token contract's own address).
    function totalEscrowed() external view returns (uint256);
    /// @notice Smallest amount that can be redeemed.
    function minimumRedemption() external view returns (uint256);
    /// @notice Sets the smallest amount that can be redeemed.
    function setMinimumRedemption(uint256 minimum) external;

    // ----- asset protection and compliance -----
    /// @notice Freezes (`frozen` true) or unfreezes the whole address `account`.
    function setAddressFrozen(address account, bool frozen) external;
    /// @notice Whether the whole address `account` is frozen.
    function isFrozen(address account) external view returns (bool);
    /// @notice Switches allowlist mode on or off.
    function setAllowlistMode(bool enabled) external;
    /// @notice Whether allowlist mode is on.
    function allowlistMode() external view returns (bool);
    /// @notice Adds (`allowed` true) or removes `account` from the allowlist.
    function setAllowlisted(address account, bool allowed) external;
    /// @notice Whether `account` is on the allowlist.
    function isAllowlisted(address account) external view returns (bool);
    /// @notice Pauses transfers, mints and redemptions.
    function pause() external;
    /// @notice Lifts the pause (DEFAULT_ADMIN_ROLE: the guardian that pauses cannot unpause).
    function unpause() external;
    /// @notice Suspends minting only: transfers and redemptions go on (PAUSER_ROLE).
    function pauseMinting() external;
    /// @notice Resumes minting (DEFAULT_ADMIN_ROLE: the guardian that pauses minting cannot resume it).
    function unpauseMinting() external;
    /// @notice Whether minting is suspended.
    function mintingPaused() external view returns (bool);
}
