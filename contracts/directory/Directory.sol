// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

import {IBasketToken} from "../interfaces/IBasketToken.sol";
import {IDirectory} from "../interfaces/IDirectory.sol";

/// @title Directory
/// @notice The one address from which the SDK discovers every product's token, price feed and
///         reserve attestor by symbol, and every basket (BasketToken and its NAV feed) by symbol.
///         Both lists are enumerable in registration order; only REGISTRAR_ROLE writes either.
contract Directory is AccessControl, IDirectory {
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    string[] private _symbols;
    mapping(bytes32 symbolHash => Product) private _products;
    mapping(bytes32 symbolHash => bool) private _registered;
    string[] private _basketSymbols;
    mapping(bytes32 symbolHash => Basket) private _baskets;

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

    /// @inheritdoc IDirectory
    function registerBasket(string calldata symbol, address basket, address navFeed)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        bytes32 key = _key(symbol);
        if (_baskets[key].basket != address(0)) revert BasketAlreadyRegistered(symbol);
        _checkBasket(basket);
        _basketSymbols.push(symbol);
        _baskets[key] = Basket(basket, navFeed);
        emit BasketRegistered(symbol, basket, navFeed);
    }

    /// @inheritdoc IDirectory
    function updateBasket(string calldata symbol, address basket, address navFeed)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        bytes32 key = _key(symbol);
        if (_baskets[key].basket == address(0)) revert UnknownBasket(symbol);
        _checkBasket(basket);
        _baskets[key] = Basket(basket, navFeed);
        emit BasketUpdated(symbol, basket, navFeed);
    }

    /// @inheritdoc IDirectory
    function getBasket(string calldata symbol) external view returns (Basket memory) {
        Basket memory b = _baskets[keccak256(bytes(symbol))];
        if (b.basket == address(0)) revert UnknownBasket(symbol);
        return b;
    }

    /// @inheritdoc IDirectory
    function containsBasket(string calldata symbol) external view returns (bool) {
        return _baskets[keccak256(bytes(symbol))].basket != address(0);
    }

    /// @inheritdoc IDirectory
    function basketCount() external view returns (uint256) {
        return _basketSymbols.length;
    }

    /// @inheritdoc IDirectory
    function basketAt(uint256 index) external view returns (string memory symbol, Basket memory basket) {
        if (index >= _basketSymbols.length) revert IndexOutOfRange(index, _basketSymbols.length);
        symbol = _basketSymbols[index];
        basket = _baskets[keccak256(bytes(symbol))];
    }

    /// @inheritdoc IDirectory
    function basketSymbols() external view returns (string[] memory) {
        return _basketSymbols;
    }

    /// @dev A basket is a contract that reports IBasketToken through ERC-165 (an EOA, a product token or a
    ///      contract without ERC-165 is refused with NotABasket).
    function _checkBasket(address basket) private view {
        if (basket == address(0)) revert ZeroAddress();
        if (basket.code.length == 0) revert NotABasket(basket);
        try IERC165(basket).supportsInterface(type(IBasketToken).interfaceId) returns (bool ok) {
            if (!ok) revert NotABasket(basket);
        } catch {
            revert NotABasket(basket);
        }
    }

    function _key(string calldata symbol) private pure returns (bytes32) {
        if (bytes(symbol).length == 0 || bytes(symbol).length > 32) revert InvalidSymbol(symbol);
        return keccak256(bytes(symbol));
    }
}
