// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CommodityToken} from "../token/CommodityToken.sol";

/// @title CommodityTokenV2
/// @notice Test-only upgrade target: CommodityToken plus a version getter (storage unchanged).
contract CommodityTokenV2 is CommodityToken {
    /// @notice Implementation version, to see that an upgrade took effect.
    function version() external pure returns (uint256) {
        return 2;
    }
}
