// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;

// Identical to @chainlink/contracts 1.2.0 src/v0.8/shared/interfaces/AggregatorV3Interface.sol, so
// contracts compiled against Chainlink's file read our feeds unchanged. The name keeps Chainlink's
// spelling (no I prefix) on purpose: integrators look for it under this name.
// solhint-disable-next-line interface-starts-with-i
interface AggregatorV3Interface {
  /// @notice Decimals of the answer.
  function decimals() external view returns (uint8);

  /// @notice Human-readable description of the feed.
  function description() external view returns (string memory);

  /// @notice Version of the feed implementation.
  function version() external view returns (uint256);

  /// @notice Data of a past round.
  function getRoundData(
    uint80 _roundId
  ) external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

  /// @notice Data of the latest round.
  function latestRoundData()
    external
    view
    returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
