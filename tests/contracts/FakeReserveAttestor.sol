// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IReserveAttestor} from "../../contracts/interfaces/IReserveAttestor.sol";

/// @title FakeReserveAttestor
/// @notice Test-only attacker contract: claims any product code, binds to any token, reports the decimals
///         and the (fresh) reserve its deployer chose. Used to show that only the timelock can install it.
contract FakeReserveAttestor is IReserveAttestor {
    string private _productCode;
    uint8 private _decimals;
    uint256 private _total;
    address private _token;

    /// @param productCode_ The product code to claim.
    /// @param decimals_ The decimals to report.
    /// @param total_ The reserve to report.
    constructor(string memory productCode_, uint8 decimals_, uint256 total_) {
        _productCode = productCode_;
        _decimals = decimals_;
        _total = total_;
    }

    /// @inheritdoc IReserveAttestor
    function bindToken(address token_) external {
        _token = token_;
        emit TokenBound(token_);
    }

    /// @inheritdoc IReserveAttestor
    function token() external view returns (address) {
        return _token;
    }

    /// @notice A config digest no attestor ever signed under (this contract takes no signatures).
    /// @return Always zero.
    function configDigest() external pure returns (bytes32) {
        return bytes32(0);
    }

    /// @notice The decimals the attacker chose.
    /// @return The decimals.
    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// @inheritdoc IReserveAttestor
    function productCode() external view returns (string memory) {
        return _productCode;
    }

    /// @inheritdoc IReserveAttestor
    function latestAttestation() external view returns (Attestation memory attestation, uint80 roundId, uint64 attestedAt) {
        attestation = Attestation(bytes32(uint256(1)), _total, 1, uint64(block.timestamp), bytes32(uint256(1)));
        return (attestation, 1, uint64(block.timestamp));
    }

    /// @inheritdoc IReserveAttestor
    function reserveTotal() external view returns (uint256 totalQuantity, uint64 asOf) {
        return (_total, uint64(block.timestamp));
    }
}
