// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title PlainERC20Permit
/// @notice Gas baseline: OpenZeppelin ERC20 + ERC20Permit with nothing added.
contract PlainERC20Permit is ERC20, ERC20Permit {
    constructor(address holder, uint256 supply) ERC20("Plain Permit", "PLP") ERC20Permit("Plain Permit") {
        _mint(holder, supply);
    }
}
