// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title IHeartbeatConfig
/// @notice The part of a Stockpile feed's public configuration this consumer uses.
interface IHeartbeatConfig {
    /// @notice Seconds after which the feed's answer is stale.
    function heartbeat() external view returns (uint32);
}

/// @title StalenessCheckedConsumer
/// @notice Test consumer compiled against Chainlink's own AggregatorV3Interface: reads a price and
///         refuses it when older than the feed's published heartbeat.
contract StalenessCheckedConsumer {
    error StalePrice(uint256 updatedAt, uint256 heartbeat, uint256 blockTimestamp);
    error InvalidPrice(int256 answer);

    AggregatorV3Interface public immutable feed;

    constructor(AggregatorV3Interface feed_) {
        feed = feed_;
    }

    /// @notice The latest price and its decimals, if fresh.
    function price() external view returns (int256 answer, uint8 decimals, string memory description) {
        (uint80 roundId, int256 a,, uint256 updatedAt, uint80 answeredInRound) = feed.latestRoundData();
        uint256 hb = IHeartbeatConfig(address(feed)).heartbeat();
        if (a <= 0) revert InvalidPrice(a);
        if (answeredInRound < roundId || block.timestamp - updatedAt > hb) {
            revert StalePrice(updatedAt, hb, block.timestamp);
        }
        return (a, feed.decimals(), feed.description());
    }
}
