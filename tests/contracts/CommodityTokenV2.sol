// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CommodityToken} from "../../contracts/token/CommodityToken.sol";

/// @title CommodityTokenV2
/// @notice Test-only upgrade target: CommodityToken plus a version getter (storage unchanged).
contract CommodityTokenV2 is CommodityToken {
    /// @param authorizations_ The EIP-3009 code contract (as for CommodityToken).
    constructor(address authorizations_) CommodityToken(authorizations_) {}

    /// @notice Implementation version, to see that an upgrade took effect.
    function version() external pure returns (uint256) {
        return 2;
    }
}
