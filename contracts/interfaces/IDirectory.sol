// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IDirectory
/// @notice Product symbol -> token, reference price feed and reserve attestor.
interface IDirectory {
    /// @notice Addresses registered for one product.
    struct Product {
        address token;
        address priceFeed; // may be zero until the product has a feed
        address reserveAttestor;
    }

    /// @notice A product was registered under `symbol`.
    event ProductRegistered(string symbol, address indexed token, address priceFeed, address indexed reserveAttestor);
    /// @notice The addresses of product `symbol` were replaced.
    event ProductUpdated(string symbol, address indexed token, address priceFeed, address indexed reserveAttestor);

    /// @notice `symbol` is already registered.
    error ProductAlreadyRegistered(string symbol);
    /// @notice `symbol` is not registered.
    error UnknownProduct(string symbol);
    /// @notice The symbol is empty or longer than 32 bytes.
    error InvalidSymbol(string symbol);
    /// @notice The token address is zero.
    error ZeroAddress();
    /// @notice `index` is not below `count()`.
    error IndexOutOfRange(uint256 index, uint256 count);

    /// @notice Registers a new product.
    function register(string calldata symbol, address token, address priceFeed, address reserveAttestor) external;
    /// @notice Replaces the addresses of an existing product.
    function update(string calldata symbol, address token, address priceFeed, address reserveAttestor) external;
    /// @notice The product registered under `symbol` (reverts with UnknownProduct if none).
    function get(string calldata symbol) external view returns (Product memory);
    /// @notice Whether `symbol` is registered.
    function contains(string calldata symbol) external view returns (bool);
    /// @notice Number of registered products.
    function count() external view returns (uint256);
    /// @notice The `index`-th product in registration order.
    function at(uint256 index) external view returns (string memory symbol, Product memory product);
    /// @notice All registered symbols in registration order.
    function symbols() external view returns (string[] memory);
}
