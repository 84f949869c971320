// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IDirectory
/// @notice Product symbol -> token, reference price feed and reserve attestor; basket symbol -> BasketToken
///         and its NAV feed (a separate list: a basket is not a product).
interface IDirectory {
    /// @notice Addresses registered for one product.
    struct Product {
        address token;
        address priceFeed; // may be zero until the product has a feed
        address reserveAttestor;
    }

    /// @notice Addresses registered for one basket.
    struct Basket {
        address basket; // the BasketToken (proxy)
        address navFeed; // its BasketNavFeed (AggregatorV3); may be zero
    }

    /// @notice A product was registered under `symbol`.
    event ProductRegistered(string symbol, address indexed token, address priceFeed, address indexed reserveAttestor);
    /// @notice The addresses of product `symbol` were replaced.
    event ProductUpdated(string symbol, address indexed token, address priceFeed, address indexed reserveAttestor);

    /// @notice A basket was registered under `symbol`.
    event BasketRegistered(string symbol, address indexed basket, address navFeed);
    /// @notice The addresses of basket `symbol` were replaced.
    event BasketUpdated(string symbol, address indexed basket, address navFeed);

    /// @notice `symbol` is already registered.
    error ProductAlreadyRegistered(string symbol);
    /// @notice `symbol` is not registered.
    error UnknownProduct(string symbol);
    /// @notice The symbol is empty or longer than 32 bytes.
    error InvalidSymbol(string symbol);
    /// @notice The token address is zero.
    error ZeroAddress();
    /// @notice `index` is not below `count()` (or `basketCount()`).
    error IndexOutOfRange(uint256 index, uint256 count);
    /// @notice Basket `symbol` is already registered.
    error BasketAlreadyRegistered(string symbol);
    /// @notice No basket is registered under `symbol`.
    error UnknownBasket(string symbol);
    /// @notice `account` does not report the IBasketToken interface (ERC-165).
    error NotABasket(address account);

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

    /// @notice Registers a new basket (REGISTRAR_ROLE). The basket must report IBasketToken through ERC-165.
    /// @param symbol The basket's symbol (1..32 bytes), e.g. "SMB".
    /// @param basket The BasketToken (proxy).
    /// @param navFeed Its BasketNavFeed, or zero.
    function registerBasket(string calldata symbol, address basket, address navFeed) external;
    /// @notice Replaces the addresses of an existing basket (REGISTRAR_ROLE).
    /// @param symbol A registered basket symbol.
    /// @param basket The BasketToken (proxy).
    /// @param navFeed Its BasketNavFeed, or zero.
    function updateBasket(string calldata symbol, address basket, address navFeed) external;
    /// @notice The basket registered under `symbol` (reverts with UnknownBasket if none).
    /// @param symbol The basket symbol.
    /// @return The basket and its NAV feed.
    function getBasket(string calldata symbol) external view returns (Basket memory);
    /// @notice Whether a basket is registered under `symbol`.
    /// @param symbol The basket symbol.
    /// @return True if registered.
    function containsBasket(string calldata symbol) external view returns (bool);
    /// @notice Number of registered baskets.
    /// @return The count.
    function basketCount() external view returns (uint256);
    /// @notice The `index`-th basket in registration order.
    /// @param index Below `basketCount()`.
    /// @return symbol Its symbol.
    /// @return basket Its addresses.
    function basketAt(uint256 index) external view returns (string memory symbol, Basket memory basket);
    /// @notice All registered basket symbols in registration order.
    /// @return The symbols.
    function basketSymbols() external view returns (string[] memory);
}
