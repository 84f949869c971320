// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/// @title StockpileProxy
/// @notice OpenZeppelin's ERC1967Proxy unchanged, compiled here so that ape and the Python
///         artifacts have it. Constructor: (implementation, initializer calldata).
contract StockpileProxy is ERC1967Proxy {
    constructor(address implementation, bytes memory data) payable ERC1967Proxy(implementation, data) {}
}
