// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

interface IReserveAttestor {
    struct Attestation { bytes32 merkleRoot; uint256 totalQuantity; uint64 lotCount; uint64 asOf; bytes32 reportHash; }
    function productCode() external view returns (string memory);
    function latestAttestation() external view returns (Attestation memory attestation, uint80 roundId, uint64 attestedAt);
    function reserveTotal() external view returns (uint256 totalQuantity, uint64 asOf);
}
