// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title BasketNavConsumer
/// @notice Test consumer compiled against Chainlink's own AggregatorV3Interface (@chainlink/contracts 1.2.0),
///         as a lending market would read a basket's NAV feed: value of a collateral position.
contract BasketNavConsumer {
    /// @notice The NAV answer is not positive.
    /// @param answer The answer read.
    error InvalidNav(int256 answer);

    /// @notice The feed read.
    AggregatorV3Interface public immutable feed;

    /// @notice Bind to a feed.
    /// @param feed_ The basket's NAV feed.
    constructor(AggregatorV3Interface feed_) {
        feed = feed_;
    }

    /// @notice USD value (feed decimals) of `shares` whole basket tokens, with the feed's metadata.
    /// @param shares Whole basket tokens.
    /// @return value shares x NAV.
    /// @return decimals The feed's decimals.
    /// @return description The feed's description.
    /// @return updatedAt The round's updatedAt.
    function collateralValue(uint256 shares)
        external
        view
        returns (uint256 value, uint8 decimals, string memory description, uint256 updatedAt)
    {
        (, int256 answer,, uint256 at,) = feed.latestRoundData();
        if (answer <= 0) revert InvalidNav(answer);
        return (uint256(answer) * shares, feed.decimals(), feed.description(), at);
    }
}
