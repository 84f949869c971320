// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IDirectory} from "../interfaces/IDirectory.sol";

/// @title Directory
/// @notice The one address from which the SDK discovers every product's token, price feed and
///         reserve attestor by symbol. Enumerable in registration order.
contract Directory is AccessControl, IDirectory {
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    string[] private _symbols;
    mapping(bytes32 symbolHash => Product) private _products;
    mapping(bytes32 symbolHash => bool) private _registered;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE and, initially, REGISTRAR_ROLE.
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, admin);
    }

    /// @inheritdoc IDirectory
    function register(string calldata symbol, address token, address priceFeed, address reserveAttestor)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        bytes32 key = _key(symbol);
        if (_registered[key]) revert ProductAlreadyRegistered(symbol);
        if (token == address(0)) revert ZeroAddress();
        _registered[key] = true;
        _symbols.push(symbol);
        _products[key] = Product(token, priceFeed, reserveAttestor);
        emit ProductRegistered(symbol, token, priceFeed, reserveAttestor);
    }

    /// @inheritdoc IDirectory
    function update(string calldata symbol, address token, address priceFeed, address reserveAttestor)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        bytes32 key = _key(symbol);
        if (!_registered[key]) revert UnknownProduct(symbol);
        if (token == address(0)) revert ZeroAddress();
        _products[key] = Product(token, priceFeed, reserveAttestor);
        emit ProductUpdated(symbol, token, priceFeed, reserveAttestor);
    }

    /// @inheritdoc IDirectory
    function get(string calldata symbol) external view returns (Product memory) {
        bytes32 key = keccak256(bytes(symbol));
        if (!_registered[key]) revert UnknownProduct(symbol);
        return _products[key];
    }

    /// @inheritdoc IDirectory
    function contains(string calldata symbol) external view returns (bool) {
        return _registered[keccak256(bytes(symbol))];
    }

    /// @inheritdoc IDirectory
    function count() external view returns (uint256) {
        return _symbols.length;
    }

    /// @inheritdoc IDirectory
    function at(uint256 index) external view returns (string memory symbol, Product memory product) {
        if (index >= _symbols.length) revert IndexOutOfRange(index, _symbols.length);
        symbol = _symbols[index];
        product = _products[keccak256(bytes(symbol))];
    }

    /// @inheritdoc IDirectory
    function symbols() external view returns (string[] memory) {
        return _symbols;
    }

    function _key(string calldata symbol) private pure returns (bytes32) {
        if (bytes(symbol).length == 0 || bytes(symbol).length > 32) revert InvalidSymbol(symbol);
        return keccak256(bytes(symbol));
    }
}
