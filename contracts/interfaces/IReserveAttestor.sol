// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IQuorumSignatures} from "./IQuorumSignatures.sol";

/// @title IReserveAttestor
/// @notice A product's proof-of-reserve feed: the custodian's latest attested lot list (Merkle root),
/// total quantity in token base units, lot count and as-of time. One instance per product.
/// @dev Signature errors (`QuorumNotMet`, `NotSigner`, `InvalidSignature`, `DuplicateSigner`,
/// `SignersNotOrdered`, `ConfigDigestMismatch`, `SignatureExpired`, `InvalidQuorum`) come from
/// {IQuorumSignatures}, shared with the PriceFeed.
interface IReserveAttestor is IQuorumSignatures {
    /// @notice One custody attestation, as stored and returned by the views.
    /// @dev Attestors sign it (EIP-712) together with the attestor's `configDigest()` and a deadline:
    /// `Attestation(bytes32 merkleRoot,uint256 totalQuantity,uint64 lotCount,uint64 asOf,bytes32 reportHash,bytes32 configDigest,uint64 deadline)`.
    struct Attestation {
        bytes32 merkleRoot; // StandardMerkleTree root of the lot list
        uint256 totalQuantity; // sum of lot net quantities, in token base units
        uint64 lotCount;
        uint64 asOf; // custodian snapshot time (unix seconds)
        bytes32 reportHash; // hash of the custodian's full report
    }

    // ---------------------------------------------------------------- errors

    /// @notice The as-of time is not newer than the current attestation's.
    /// @param asOf The attestation's as-of time.
    /// @param currentAsOf The current attestation's as-of time.
    error AsOfNotNewer(uint64 asOf, uint64 currentAsOf);
    /// @notice The as-of time is after the current block time.
    /// @param asOf The attestation's as-of time.
    /// @param blockTimestamp The block time.
    error AsOfInFuture(uint64 asOf, uint64 blockTimestamp);
    /// @notice A non-empty attestation with a zero Merkle root.
    error ZeroMerkleRoot();
    /// @notice An attestation with a root or a total but no lots.
    error ZeroLotCount();
    /// @notice An attestation with lots but a zero total quantity.
    error ZeroTotalQuantity();
    /// @notice An attestation without a report hash.
    error ZeroReportHash();
    /// @notice More lots than base units: every lot holds at least one unit.
    /// @param lotCount The lot count.
    /// @param totalQuantity The total.
    error LotCountExceedsTotal(uint64 lotCount, uint256 totalQuantity);
    /// @notice The total does not fit the feed's int256 answer.
    /// @param totalQuantity The total.
    error TotalQuantityTooLarge(uint256 totalQuantity);
    /// @notice The zero address was given where an account is needed.
    error ZeroAddress();
    /// @notice An empty product code.
    error EmptyProductCode();
    /// @notice The address is already a registered attestor.
    /// @param attestor The address.
    error AttestorAlreadyRegistered(address attestor);
    /// @notice The address is not a registered attestor (on removal).
    /// @param attestor The address.
    error AttestorNotRegistered(address attestor);
    /// @notice No round with this id.
    /// @param roundId The round.
    error UnknownRound(uint80 roundId);
    /// @notice No attestation has been accepted yet.
    error NoAttestation();

    // ---------------------------------------------------------------- events

    /// @notice An attestation was accepted as round `roundId`.
    event ReserveAttested(
        uint80 indexed roundId,
        bytes32 merkleRoot,
        uint256 totalQuantity,
        uint64 lotCount,
        uint64 asOf,
        bytes32 reportHash
    );
    /// @notice An attestor was registered.
    /// @param attestor The attestor.
    event AttestorAdded(address indexed attestor);
    /// @notice An attestor was removed.
    /// @param attestor The attestor.
    event AttestorRemoved(address indexed attestor);
    /// @notice The quorum changed.
    /// @param oldQuorum Previous quorum.
    /// @param newQuorum New quorum.
    event QuorumChanged(uint256 oldQuorum, uint256 newQuorum);
    /// @notice The attestor set or quorum changed: attestations must carry the new digest.
    /// @param configVersion The new config version.
    /// @param configDigest The new config digest.
    event ConfigChanged(uint64 configVersion, bytes32 configDigest);

    // ---------------------------------------------------------------- functions

    /// @notice The attestor was bound, once and for good, to the one token it backs.
    event TokenBound(address indexed token);

    /// @notice `bindToken` was called again: the attestor is already bound to `token`.
    error TokenAlreadyBound(address token);

    /// @notice Binds this attestor to the one CommodityToken it backs (DEFAULT_ADMIN_ROLE, once).
    /// @param token The token's (proxy) address; the token refuses an attestor not bound to it.
    function bindToken(address token) external;

    /// @notice The token this attestor backs (zero until `bindToken`).
    /// @return The bound token's address.
    function token() external view returns (address);

    /// @notice The product code this attestor serves (e.g. "NDPR-OXIDE").
    /// @return The product code.
    function productCode() external view returns (string memory);

    /// @notice The latest accepted attestation and its round id (0 if none yet).
    /// @return attestation The attestation.
    /// @return roundId Its round.
    /// @return attestedAt Block time it was accepted.
    function latestAttestation() external view returns (Attestation memory attestation, uint80 roundId, uint64 attestedAt);

    /// @notice Cheap read for secure mint: attested total and its as-of time (both 0 if none yet).
    /// @return totalQuantity The attested total.
    /// @return asOf Its as-of time.
    function reserveTotal() external view returns (uint256 totalQuantity, uint64 asOf);
}
