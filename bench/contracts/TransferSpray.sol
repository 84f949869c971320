// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title TransferSpray
/// @notice Benchmark helper: many ERC-20 transfers in one transaction, to build an address
///         history of thousands of events quickly.
contract TransferSpray {
    /// @notice Moves `amountEach` from `from` (who approved this contract) to `count` addresses
    ///         derived from `seed`, one transferFrom each.
    /// @param token The token.
    /// @param from The holder whose history grows.
    /// @param count Number of transfers.
    /// @param amountEach Base units per transfer.
    /// @param seed Distinguishes recipients between calls.
    function spray(IERC20 token, address from, uint256 count, uint256 amountEach, uint256 seed) external {
        for (uint256 i = 0; i < count; ++i) {
            address to = address(uint160(uint256(keccak256(abi.encode(seed, i)))));
            // slither-disable-next-line arbitrary-send-erc20,unchecked-transfer - bench-only helper (dev chains); the benchmarked OZ token reverts on failure
            token.transferFrom(from, to, amountEach);
        }
    }
}
