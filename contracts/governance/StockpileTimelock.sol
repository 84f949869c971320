// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title StockpileTimelock
/// @notice OpenZeppelin's TimelockController unchanged; holds UPGRADER_ROLE of the tokens.
///         Constructor: (minDelay seconds, proposers, executors, optional admin (zero = none)).
contract StockpileTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
