// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Compiled against Chainlink's own interface file (node_modules/@chainlink/contracts 1.2.0), not ours.
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title ReserveFeedConsumer
/// @notice Test consumer: reads a proof-of-reserve feed the way a DeFi integrator would.
contract ReserveFeedConsumer {
    /// @notice The attested snapshot (startedAt = custodian as-of time) is older than allowed.
    error ReserveStale(uint256 asOf, uint256 maxAge);

    AggregatorV3Interface public immutable feed;

    constructor(AggregatorV3Interface feed_) {
        feed = feed_;
    }

    /// @notice The latest round as seen through AggregatorV3Interface.
    function latest() external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint8 decimals) {
        (roundId, answer, startedAt, updatedAt,) = feed.latestRoundData();
        decimals = feed.decimals();
    }

    /// @notice Whether `supply` is covered by the attested reserve, refusing a feed older than `maxAge`.
    function covers(uint256 supply, uint256 maxAge) external view returns (bool) {
        (, int256 answer, uint256 startedAt,,) = feed.latestRoundData();
        if (block.timestamp - startedAt > maxAge) revert ReserveStale(startedAt, maxAge);
        return answer >= 0 && uint256(answer) >= supply;
    }

    /// @notice The feed's description.
    function describe() external view returns (string memory) {
        return feed.description();
    }
}
