// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IAggregatorV3
/// @notice The read interface of a Chainlink data feed, function for function the same ABI as
///         `AggregatorV3Interface` of Chainlink contracts (src/v0.8/shared/interfaces), so any
///         contract compiled against Chainlink's interface reads a Stockpile price feed unchanged.
interface IAggregatorV3 {
    /// @notice Number of decimals of `answer`.
    function decimals() external view returns (uint8);

    /// @notice Human-readable description, e.g. "NDPR-OXIDE / USD per kg".
    function description() external view returns (string memory);

    /// @notice Version of the aggregator implementation.
    function version() external view returns (uint256);

    /// @notice Data of a past round (reverts when the round is unknown or no longer retained).
    /// @param _roundId The round to read.
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice Data of the latest round (reverts when the feed has no round yet).
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
