// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IPriceFeed
/// @notice A hub of reference price feeds (one per product), updated by reports signed by a quorum
///         of registered oracle signers. Each feed is also readable as a Chainlink-style aggregator
///         through its own adapter contract (see `adapterOf`).
/// @dev Report format (EIP-712, domain name "Stockpile PriceFeed", version "1"):
///      `Observation(bytes32[] feedIds,uint32[] roundIds,uint32 observedAt,int192[] answers)`.
///      Every signer signs its own observation: the batch (feeds, the round each will become, the
///      observation time) with its own answer for each feed. The on-chain answer of a feed
///      is the median of the signers' answers (even count: mean of the two middle values, rounded
///      towards negative infinity).
interface IPriceFeed {
    /// @notice A compact (EIP-2098) secp256k1 signature.
    struct Signature {
        bytes32 r;
        bytes32 vs;
    }

    /// @notice Public configuration of one feed.
    struct FeedConfig {
        uint8 decimals;
        uint32 heartbeat;
        int96 minAnswer;
        int96 maxAnswer;
        uint32 latestRound;
        uint32 latestObservedAt;
        address adapter;
        string description;
    }

    // ----------------------------------------------------------------------------------- errors

    /// @notice The report carries fewer signatures than the quorum.
    error QuorumNotMet(uint256 signatures, uint256 quorum);
    /// @notice A signature recovered to an address that is not a registered signer.
    error NotSigner(address recovered);
    /// @notice A signature is malformed or malleable (high s, bad v).
    error InvalidSignature(uint256 index);
    /// @notice The same signer signed twice.
    error DuplicateSigner(address signer);
    /// @notice Signatures must be ordered by strictly ascending signer address.
    error SignersNotOrdered(uint256 index);
    /// @notice The report's arrays do not have matching lengths.
    error LengthMismatch();
    /// @notice The report has no feed.
    error EmptyReport();
    /// @notice The feed id is not registered.
    error UnknownFeed(bytes32 feedId);
    /// @notice The feed id is already registered.
    error FeedExists(bytes32 feedId);
    /// @notice The report is for another round than the feed's next one (old or replayed report).
    error UnexpectedRound(bytes32 feedId, uint32 expected, uint32 provided);
    /// @notice The report's observation time is not newer than the current round's.
    error StaleReport(bytes32 feedId, uint32 observedAt, uint32 latestObservedAt);
    /// @notice The report's observation time is after the block's timestamp.
    error FutureReport(bytes32 feedId, uint32 observedAt, uint256 blockTimestamp);
    /// @notice The median answer is outside the feed's [minAnswer, maxAnswer] bounds.
    error AnswerOutOfBounds(bytes32 feedId, int256 answer, int96 minAnswer, int96 maxAnswer);
    /// @notice The round is unknown or no longer retained.
    error NoDataPresent(bytes32 feedId, uint80 roundId);
    /// @notice Invalid feed configuration (bounds, heartbeat or decimals).
    error InvalidFeedConfig();
    /// @notice Invalid signer set (zero address, not strictly ascending, or too many signers).
    error InvalidSigners();
    /// @notice The quorum must be a strict majority of the signer set and at most its size.
    error InvalidQuorum(uint256 quorum, uint256 signers);

    // ----------------------------------------------------------------------------------- events

    /// @notice A feed was registered.
    event FeedAdded(bytes32 indexed feedId, address adapter, uint8 decimals, string description);
    /// @notice A feed's bounds or heartbeat were changed.
    event FeedConfigChanged(bytes32 indexed feedId, int96 minAnswer, int96 maxAnswer, uint32 heartbeat);
    /// @notice The oracle signer set and quorum were replaced.
    event SignersChanged(address[] signers, uint8 quorum, uint32 configVersion);
    /// @notice A feed got a new round.
    event AnswerUpdated(bytes32 indexed feedId, uint32 roundId, int192 answer);
    /// @notice A batch entry failed its checks and was skipped; `reason` is the ABI-encoded custom error.
    event FeedUpdateSkipped(bytes32 indexed feedId, uint32 roundId, bytes reason);

    // ------------------------------------------------------------------------------- functions

    /// @notice Apply a signed report covering one or more feeds.
    /// @dev Report-level problems (signatures, quorum, order, lengths) revert the whole call. A feed
    ///      entry that fails its own checks (unknown feed, wrong round, stale or future time, answer
    ///      out of bounds) is skipped with `FeedUpdateSkipped` and nothing of it is written; when no
    ///      entry is accepted the call reverts with the first entry's error.
    /// @param feedIds The feeds of the batch.
    /// @param roundIds For each feed, the round this report creates (latest round + 1).
    /// @param observedAt Observation time of the report (unix seconds).
    /// @param answers Feed-major: answers[f * signatures.length + s] = signer s's answer for feed f
    ///        (s in signature order).
    /// @param signatures One signature per signer, ordered by ascending signer address.
    /// @return updated Number of feeds that got a new round.
    function transmit(
        bytes32[] calldata feedIds,
        uint32[] calldata roundIds,
        uint32 observedAt,
        int192[] calldata answers,
        Signature[] calldata signatures
    ) external returns (uint256 updated);

    /// @notice Latest round of a feed, Chainlink-style.
    /// @param feedId The feed.
    function latestRoundData(bytes32 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice A retained past round of a feed, Chainlink-style.
    /// @param feedId The feed.
    /// @param roundId The round.
    function getRoundData(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice Public configuration of a feed.
    /// @param feedId The feed.
    function feedConfig(bytes32 feedId) external view returns (FeedConfig memory);

    /// @notice The oracle signers, ascending.
    function signers() external view returns (address[] memory);

    /// @notice Signatures needed for a report.
    function quorum() external view returns (uint8);

    /// @notice Implementation version reported by the adapters.
    function version() external view returns (uint256);
}
