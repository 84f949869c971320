// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IQuorumSignatures} from "./IQuorumSignatures.sol";

/// @title IPriceFeed
/// @notice A hub of reference price feeds (one per product), updated by reports that every
///         contributing oracle signer signed as a whole. Each feed is also readable as a
///         Chainlink-style aggregator through its own adapter contract (see `adapterOf`).
/// @dev Report format (EIP-712, domain name "Stockpile PriceFeed", version "1"):
///      `Report(bytes32 configDigest,uint32 observedAt,uint32 deadline,uint256 observers,bytes32[] feedIds,uint32[] roundIds,int192[] answers)`.
///      `observers` is a bitmap of signer indices (bit i = signer i of the current configuration
///      contributed); `answers` holds, feed-major, every observer's answer for every feed
///      (answers[f * k + j] = the j-th observer's, in ascending index order, for feed f, with k
///      observers). Every observer signs this whole report, so the set of observations (and with
///      it the median) is fixed by the signatures: nobody can choose a subset. A report needs
///      observations from more than 2f of the n > 3f configured signers. The on-chain answer is the
///      median of exactly those observations (even count: mean of the two middle values, rounded
///      towards negative infinity).
interface IPriceFeed is IQuorumSignatures {
    /// @notice A report, as signed by each of its observers.
    struct Report {
        bytes32 configDigest; // `configDigest()` when signed: binds the signer set, f and the config version
        uint32 observedAt; // observation time of every answer in the report (unix seconds)
        uint32 deadline; // last block time at which the report may land
        uint256 observers; // bitmap of the contributing signers' indices in `signers()`
        bytes32[] feedIds;
        uint32[] roundIds; // for each feed, the round this report creates (latest round + 1)
        int192[] answers; // feed-major, observers in ascending index order
    }

    /// @notice The signer configuration a transmitter passes along (checked against `configDigest()`).
    struct SignerSet {
        uint32 version;
        uint8 f;
        address[] signers;
    }

    /// @notice Public configuration of one feed.
    struct FeedConfig {
        uint8 decimals;
        uint32 heartbeat;
        uint32 maxReportAge;
        int80 minAnswer;
        int80 maxAnswer;
        uint32 latestRound;
        uint32 latestObservedAt;
        address adapter;
        string description;
    }

    // ----------------------------------------------------------------------------------- errors

    /// @notice The number of signatures differs from the number of observers.
    /// @param signatures Signatures in the call.
    /// @param observers Observers in the report's bitmap.
    error SignatureCountMismatch(uint256 signatures, uint256 observers);
    /// @notice The observer bitmap names an index outside the signer set.
    /// @param observers The bitmap.
    error InvalidObservers(uint256 observers);
    /// @notice The report's arrays do not have matching lengths.
    error LengthMismatch();
    /// @notice The report has no feed.
    error EmptyReport();
    /// @notice The feed id is not registered.
    /// @param feedId The feed.
    error UnknownFeed(bytes32 feedId);
    /// @notice The feed id is already registered.
    /// @param feedId The feed.
    error FeedExists(bytes32 feedId);
    /// @notice The report is for another round than the feed's next one (old or replayed report).
    /// @param feedId The feed.
    /// @param expected The feed's next round.
    /// @param provided The round in the report.
    error UnexpectedRound(bytes32 feedId, uint32 expected, uint32 provided);
    /// @notice The report's observation time is not newer than the current round's.
    /// @param feedId The feed.
    /// @param observedAt The report's observation time.
    /// @param latestObservedAt The current round's observation time.
    error ObservationNotNewer(bytes32 feedId, uint32 observedAt, uint32 latestObservedAt);
    /// @notice The report's observation time is after the block's timestamp.
    /// @param feedId The feed.
    /// @param observedAt The report's observation time.
    /// @param blockTimestamp The block time.
    error ObservationInFuture(bytes32 feedId, uint32 observedAt, uint256 blockTimestamp);
    /// @notice The report's observation time is older than the feed's maximum report age.
    /// @param feedId The feed.
    /// @param observedAt The report's observation time.
    /// @param maxReportAge The feed's maximum report age (seconds).
    error ReportTooOld(bytes32 feedId, uint32 observedAt, uint32 maxReportAge);
    /// @notice The median answer is outside the feed's [minAnswer, maxAnswer] bounds.
    /// @param feedId The feed.
    /// @param answer The median.
    /// @param minAnswer Lowest accepted answer.
    /// @param maxAnswer Highest accepted answer.
    error AnswerOutOfBounds(bytes32 feedId, int256 answer, int80 minAnswer, int80 maxAnswer);
    /// @notice The round is unknown or no longer retained.
    /// @param feedId The feed.
    /// @param roundId The round.
    error NoDataPresent(bytes32 feedId, uint80 roundId);
    /// @notice Invalid feed configuration (bounds, heartbeat, maximum report age or decimals).
    error InvalidFeedConfig();
    /// @notice Invalid signer set (zero address, not strictly ascending, or more than MAX_SIGNERS).
    error InvalidSigners();

    // ----------------------------------------------------------------------------------- events

    /// @notice A feed was registered.
    /// @param feedId The feed.
    /// @param adapter Its AggregatorV3 adapter.
    /// @param decimals Decimals of the answer.
    /// @param description Chainlink-style description.
    event FeedAdded(bytes32 indexed feedId, address adapter, uint8 decimals, string description);
    /// @notice A feed's bounds, heartbeat or maximum report age were changed.
    event FeedConfigChanged(
        bytes32 indexed feedId, int80 minAnswer, int80 maxAnswer, uint32 heartbeat, uint32 maxReportAge
    );
    /// @notice The oracle signer set and f were replaced.
    /// @param configDigest The new config digest reports must carry.
    /// @param version The new config version.
    /// @param signers The signers (index = observer index).
    /// @param f Faulty signers tolerated; reports need more than 2f observations.
    event ConfigSet(bytes32 indexed configDigest, uint32 version, address[] signers, uint8 f);
    /// @notice A feed got a new round.
    event AnswerUpdated(bytes32 indexed feedId, uint32 roundId, int192 answer);
    /// @notice A batch entry failed its checks and was skipped; `reason` is the ABI-encoded custom error.
    event FeedUpdateSkipped(bytes32 indexed feedId, uint32 roundId, bytes reason);

    // ------------------------------------------------------------------------------- functions

    /// @notice Apply a report covering one or more feeds.
    /// @dev Report-level problems (config, deadline, observers, signatures, lengths) revert the
    ///      whole call. A feed entry that fails its own checks (unknown feed, wrong round, time not
    ///      newer, in the future or older than the feed's maximum report age, answer out of bounds)
    ///      is skipped with `FeedUpdateSkipped`; when no entry is accepted the call reverts with the
    ///      first entry's error. Anyone may transmit: the signatures fix every value.
    /// @param report The report.
    /// @param config The current signer configuration, `signerSet()` (must hash to `configDigest()`).
    /// @param signatures One signature per observer, in ascending observer index order.
    /// @return updated Number of feeds that got a new round.
    function transmit(Report calldata report, SignerSet calldata config, Signature[] calldata signatures)
        external
        returns (uint256 updated);

    /// @notice Latest round of a feed, Chainlink-style.
    /// @dev startedAt = updatedAt = the observation time of the round's report (not the block time
    ///      it landed: see `roundTimes`), so a consumer checking `updatedAt` measures the data's age.
    /// @param feedId The feed.
    /// @return roundId The round.
    /// @return answer The median answer.
    /// @return startedAt Observation time.
    /// @return updatedAt Observation time.
    /// @return answeredInRound The round.
    function latestRoundData(bytes32 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice A retained past round of a feed, Chainlink-style (timestamps as in `latestRoundData`).
    /// @param feedId The feed.
    /// @param roundId The round.
    /// @return The round.
    /// @return answer The median answer.
    /// @return startedAt Observation time.
    /// @return updatedAt Observation time.
    /// @return answeredInRound The round.
    function getRoundData(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice Public configuration of a feed.
    /// @param feedId The feed.
    /// @return The configuration.
    function feedConfig(bytes32 feedId) external view returns (FeedConfig memory);

    /// @notice The oracle signers (index = observer index in reports).
    /// @return The signers.
    function signers() external view returns (address[] memory);

    /// @notice Observations (and signatures) a report needs: 2f + 1.
    /// @return The number.
    function quorum() external view returns (uint8);

    /// @notice Implementation version reported by the adapters.
    /// @return The version.
    function version() external view returns (uint256);
}
