// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAggregatorV3} from "../interfaces/IAggregatorV3.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";

/// @title PriceFeedAdapter
/// @notice One product's feed of a PriceFeed hub at its own address, readable through the
///         Chainlink AggregatorV3 interface, with the feed's public configuration (heartbeat,
///         bounds, quorum) so consumers can apply their own staleness check.
contract PriceFeedAdapter is IAggregatorV3 {
    /// @notice The hub holding the feed.
    IPriceFeed public immutable hub;
    /// @notice The feed id in the hub.
    bytes32 public immutable feedId;

    /// @notice Bind the adapter to one feed of a hub (deployed by the hub's addFeed).
    /// @param hub_ The hub.
    /// @param feedId_ The feed id.
    constructor(IPriceFeed hub_, bytes32 feedId_) {
        hub = hub_;
        feedId = feedId_;
    }

    /// @inheritdoc IAggregatorV3
    function decimals() external view returns (uint8) {
        return hub.feedConfig(feedId).decimals;
    }

    /// @inheritdoc IAggregatorV3
    function description() external view returns (string memory) {
        return hub.feedConfig(feedId).description;
    }

    /// @inheritdoc IAggregatorV3
    function version() external view returns (uint256) {
        return hub.version();
    }

    /// @inheritdoc IAggregatorV3
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return hub.getRoundData(feedId, _roundId);
    }

    /// @inheritdoc IAggregatorV3
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return hub.latestRoundData(feedId);
    }

    /// @notice Seconds after which the answer should be treated as stale.
    function heartbeat() external view returns (uint32) {
        return hub.feedConfig(feedId).heartbeat;
    }

    /// @notice Lowest answer the hub accepts for this feed.
    function minAnswer() external view returns (int256) {
        return hub.feedConfig(feedId).minAnswer;
    }

    /// @notice Highest answer the hub accepts for this feed.
    function maxAnswer() external view returns (int256) {
        return hub.feedConfig(feedId).maxAnswer;
    }

    /// @notice Oldest observation the hub accepts for this feed, in seconds before the block time.
    function maxReportAge() external view returns (uint32) {
        return hub.feedConfig(feedId).maxReportAge;
    }

    /// @notice Observations (and signatures) the hub needs for a report (2f + 1).
    function quorum() external view returns (uint8) {
        return hub.quorum();
    }
}
