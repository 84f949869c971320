// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title PlainERC20
/// @notice Gas baseline: OpenZeppelin ERC20 with nothing added.
contract PlainERC20 is ERC20 {
    constructor(address holder, uint256 supply) ERC20("Plain", "PLN") {
        _mint(holder, supply);
    }
}
