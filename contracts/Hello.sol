// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Hello
/// @notice Toolchain smoke-test token: proves OpenZeppelin imports compile and deploy.
contract Hello is ERC20 {
    constructor() ERC20("Hello", "HLO") {
        _mint(msg.sender, 1_000 * 10 ** 18);
    }
}
