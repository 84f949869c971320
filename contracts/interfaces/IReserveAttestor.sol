// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IReserveAttestor
/// @notice A product's proof-of-reserve feed: the custodian's latest attested lot list (Merkle root),
/// total quantity in token base units, lot count and as-of time. One instance per product.
interface IReserveAttestor {
    /// @notice One custody attestation, as signed (EIP-712) by a quorum of attestors.
    struct Attestation {
        bytes32 merkleRoot; // StandardMerkleTree root of the lot list
        uint256 totalQuantity; // sum of lot net quantities, in token base units
        uint64 lotCount;
        uint64 asOf; // custodian snapshot time (unix seconds)
        bytes32 reportHash; // hash of the custodian's full report
    }

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
    function productCode() external view returns (string memory);

    /// @notice The latest accepted attestation and its round id (0 if none yet).
    function latestAttestation() external view returns (Attestation memory attestation, uint80 roundId, uint64 attestedAt);

    /// @notice Cheap read for secure mint: attested total and its as-of time (both 0 if none yet).
    function reserveTotal() external view returns (uint256 totalQuantity, uint64 asOf);
}
