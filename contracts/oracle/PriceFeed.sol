// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {PriceFeedAdapter} from "./PriceFeedAdapter.sol";

/// @title PriceFeed
/// @notice Reference prices for Stockpile products: many feeds in one contract, each updated by
///         EIP-712 reports signed by a quorum of registered oracle signers, several feeds per
///         transaction. Every feed gets its own Chainlink-style adapter address (AggregatorV3).
/// @dev Storage per feed: one hot slot (latest round, latest observation time, bounds) and a ring
///      of `HISTORY` round slots (int192 answer | uint32 observedAt | uint32 updatedAt), written
///      with a non-zero placeholder when the feed is added so every later round overwrites a
///      non-zero slot (5,000 gas instead of 22,100). Rounds older than `HISTORY` are not retained.
contract PriceFeed is IPriceFeed, AccessControlDefaultAdminRules, EIP712 {
    /// @notice Role that replaces the oracle signer set and quorum.
    bytes32 public constant SIGNER_ADMIN_ROLE = keccak256("SIGNER_ADMIN_ROLE");
    /// @notice Role that adds feeds and changes their bounds and heartbeat.
    bytes32 public constant FEED_ADMIN_ROLE = keccak256("FEED_ADMIN_ROLE");
    /// @notice EIP-712 type of one signer's observation of a batch.
    bytes32 public constant OBSERVATION_TYPEHASH =
        keccak256("Observation(bytes32[] feedIds,uint32[] roundIds,uint32[] observedAts,int192[] answers)");
    /// @notice Number of past rounds retained per feed (getRoundData).
    uint32 public constant HISTORY = 32;
    /// @notice Largest signer set.
    uint256 public constant MAX_SIGNERS = 31;

    uint256 private constant _PLACEHOLDER = 1;

    struct Hot {
        uint32 latestRound;
        uint32 latestObservedAt;
        int96 minAnswer;
        int96 maxAnswer;
    }

    struct Info {
        uint32 heartbeat;
        uint8 decimals;
        address adapter;
        string description;
    }

    mapping(bytes32 feedId => Hot) private _hot;
    mapping(bytes32 feedId => Info) private _info;
    mapping(bytes32 feedId => uint256[HISTORY]) private _rounds;
    bytes32[] private _feedIds;

    mapping(address signer => bool) private _isSigner;
    address[] private _signers;
    /// @inheritdoc IPriceFeed
    uint8 public quorum;
    /// @notice Incremented on every signer set change.
    uint32 public configVersion;

    /// @notice Deploy the hub.
    /// @param admin Initial default admin; also gets SIGNER_ADMIN_ROLE and FEED_ADMIN_ROLE.
    /// @param adminDelay Delay of the two-step default admin handover (seconds).
    /// @param initialSigners Oracle signers, strictly ascending.
    /// @param initialQuorum Signatures needed (a strict majority of the signers).
    constructor(address admin, uint48 adminDelay, address[] memory initialSigners, uint8 initialQuorum)
        AccessControlDefaultAdminRules(adminDelay, admin)
        EIP712("Stockpile PriceFeed", "1")
    {
        _grantRole(SIGNER_ADMIN_ROLE, admin);
        _grantRole(FEED_ADMIN_ROLE, admin);
        _setSigners(initialSigners, initialQuorum);
    }

    // ------------------------------------------------------------------------------- reporting

    /// @inheritdoc IPriceFeed
    function transmit(
        bytes32[] calldata feedIds,
        uint32[] calldata roundIds,
        uint32[] calldata observedAts,
        int192[][] calldata answers,
        Signature[] calldata signatures
    ) external returns (uint256 updated) {
        uint256 nFeeds = feedIds.length;
        uint256 nSigs = signatures.length;
        if (nFeeds == 0) revert EmptyReport();
        if (roundIds.length != nFeeds || observedAts.length != nFeeds || answers.length != nSigs) {
            revert LengthMismatch();
        }
        uint256 q = quorum;
        if (nSigs < q) revert QuorumNotMet(nSigs, q);
        _verify(feedIds, roundIds, observedAts, answers, signatures);

        updated = _applyAll(feedIds, roundIds, observedAts, answers);
    }

    function _verify(
        bytes32[] calldata feedIds,
        uint32[] calldata roundIds,
        uint32[] calldata observedAts,
        int192[][] calldata answers,
        Signature[] calldata signatures
    ) private view {
        bytes32 hFeeds = keccak256(abi.encodePacked(feedIds));
        bytes32 hRounds = keccak256(abi.encodePacked(roundIds));
        bytes32 hTimes = keccak256(abi.encodePacked(observedAts));
        uint256 nFeeds = feedIds.length;
        address previous;
        for (uint256 s; s < signatures.length; ++s) {
            int192[] calldata mine = answers[s];
            if (mine.length != nFeeds) revert LengthMismatch();
            bytes32 digest = _hashTypedDataV4(
                keccak256(abi.encode(OBSERVATION_TYPEHASH, hFeeds, hRounds, hTimes, keccak256(abi.encodePacked(mine))))
            );
            (address signer, ECDSA.RecoverError status,) = ECDSA.tryRecover(digest, signatures[s].r, signatures[s].vs);
            if (status != ECDSA.RecoverError.NoError) revert InvalidSignature(s);
            if (signer <= previous) {
                if (signer == previous) revert DuplicateSigner(signer);
                revert SignersNotOrdered(s);
            }
            if (!_isSigner[signer]) revert NotSigner(signer);
            previous = signer;
        }
    }

    /// @dev Applies every entry; reverts with the first entry's error when none was accepted.
    function _applyAll(
        bytes32[] calldata feedIds,
        uint32[] calldata roundIds,
        uint32[] calldata observedAts,
        int192[][] calldata answers
    ) private returns (uint256 updated) {
        bytes memory firstError;
        uint256 nSigs = answers.length;
        int256[] memory column = new int256[](nSigs);
        for (uint256 f; f < feedIds.length; ++f) {
            for (uint256 s; s < nSigs; ++s) {
                column[s] = answers[s][f];
            }
            bytes memory err = _apply(feedIds[f], roundIds[f], observedAts[f], _median(column));
            if (err.length == 0) {
                ++updated;
            } else {
                emit FeedUpdateSkipped(feedIds[f], roundIds[f], err);
                if (firstError.length == 0) firstError = err;
            }
        }
        if (updated == 0) {
            assembly ("memory-safe") {
                revert(add(firstError, 32), mload(firstError))
            }
        }
    }

    /// @dev Returns the ABI-encoded error when the entry is refused, empty bytes when applied.
    function _apply(bytes32 feedId, uint32 roundId, uint32 observedAt, int256 answer) private returns (bytes memory) {
        Hot memory hot = _hot[feedId];
        if (hot.maxAnswer == 0) return abi.encodeWithSelector(UnknownFeed.selector, feedId);
        if (roundId != hot.latestRound + 1) {
            return abi.encodeWithSelector(UnexpectedRound.selector, feedId, hot.latestRound + 1, roundId);
        }
        if (observedAt <= hot.latestObservedAt) {
            return abi.encodeWithSelector(StaleReport.selector, feedId, observedAt, hot.latestObservedAt);
        }
        if (observedAt > block.timestamp) {
            return abi.encodeWithSelector(FutureReport.selector, feedId, observedAt, block.timestamp);
        }
        if (answer < hot.minAnswer || answer > hot.maxAnswer) {
            return abi.encodeWithSelector(AnswerOutOfBounds.selector, feedId, answer, hot.minAnswer, hot.maxAnswer);
        }
        _rounds[feedId][roundId % HISTORY] =
            (uint256(uint192(int192(answer)))) | (uint256(observedAt) << 192) | (uint256(block.timestamp) << 224);
        hot.latestRound = roundId;
        hot.latestObservedAt = observedAt;
        _hot[feedId] = hot;
        emit AnswerUpdated(feedId, roundId, int192(answer), observedAt);
        return "";
    }

    /// @dev Median by insertion sort (small n); even count: floor of the mean of the two middle values.
    function _median(int256[] memory values) private pure returns (int256) {
        uint256 n = values.length;
        for (uint256 i = 1; i < n; ++i) {
            int256 key = values[i];
            uint256 j = i;
            while (j > 0 && values[j - 1] > key) {
                values[j] = values[j - 1];
                --j;
            }
            values[j] = key;
        }
        uint256 mid = n / 2;
        if (n % 2 == 1) return values[mid];
        int256 sum = values[mid - 1] + values[mid];
        return sum >> 1; // arithmetic shift: rounds towards negative infinity
    }

    // ----------------------------------------------------------------------------------- reads

    /// @inheritdoc IPriceFeed
    function latestRoundData(bytes32 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        uint32 latest = _hot[feedId].latestRound;
        if (latest == 0) revert NoDataPresent(feedId, 0);
        return _round(feedId, latest);
    }

    /// @inheritdoc IPriceFeed
    function getRoundData(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        uint32 latest = _hot[feedId].latestRound;
        if (roundId == 0 || roundId > latest || roundId + HISTORY <= latest) revert NoDataPresent(feedId, roundId);
        return _round(feedId, uint32(roundId));
    }

    function _round(bytes32 feedId, uint32 roundId)
        private
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        uint256 packed = _rounds[feedId][roundId % HISTORY];
        answer = int256(int192(uint192(packed)));
        startedAt = uint32(packed >> 192);
        updatedAt = uint32(packed >> 224);
        return (roundId, answer, startedAt, updatedAt, roundId);
    }

    /// @inheritdoc IPriceFeed
    function feedConfig(bytes32 feedId) external view returns (FeedConfig memory config) {
        Hot memory hot = _hot[feedId];
        if (hot.maxAnswer == 0) revert UnknownFeed(feedId);
        Info storage info = _info[feedId];
        config = FeedConfig({
            decimals: info.decimals,
            heartbeat: info.heartbeat,
            minAnswer: hot.minAnswer,
            maxAnswer: hot.maxAnswer,
            latestRound: hot.latestRound,
            latestObservedAt: hot.latestObservedAt,
            adapter: info.adapter,
            description: info.description
        });
    }

    /// @notice Registered feed ids, in order of addition.
    function feedIds() external view returns (bytes32[] memory) {
        return _feedIds;
    }

    /// @notice The AggregatorV3 adapter of a feed.
    /// @param feedId The feed.
    function adapterOf(bytes32 feedId) external view returns (address) {
        return _info[feedId].adapter;
    }

    /// @inheritdoc IPriceFeed
    function signers() external view returns (address[] memory) {
        return _signers;
    }

    /// @notice Whether `account` is a registered oracle signer.
    /// @param account The address to check.
    function isSigner(address account) external view returns (bool) {
        return _isSigner[account];
    }

    /// @notice The EIP-712 domain separator reports are signed under.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IPriceFeed
    function version() external pure returns (uint256) {
        return 1;
    }

    // ----------------------------------------------------------------------------------- admin

    /// @notice Register a feed and deploy its AggregatorV3 adapter.
    /// @param feedId Feed id (e.g. bytes32 of "NDPR-OXIDE/USD").
    /// @param decimals Decimals of the answer.
    /// @param description Chainlink-style description, e.g. "NDPR-OXIDE / USD per kg".
    /// @param minAnswer Lowest accepted answer (>= 0).
    /// @param maxAnswer Highest accepted answer (> minAnswer).
    /// @param heartbeat Seconds after which consumers should treat the answer as stale.
    /// @return adapter The adapter address.
    function addFeed(
        bytes32 feedId,
        uint8 decimals,
        string calldata description,
        int96 minAnswer,
        int96 maxAnswer,
        uint32 heartbeat
    ) external onlyRole(FEED_ADMIN_ROLE) returns (address adapter) {
        if (_hot[feedId].maxAnswer != 0) revert FeedExists(feedId);
        if (decimals > 36) revert InvalidFeedConfig();
        _checkConfig(minAnswer, maxAnswer, heartbeat);
        _hot[feedId] = Hot({latestRound: 0, latestObservedAt: 0, minAnswer: minAnswer, maxAnswer: maxAnswer});
        adapter = address(new PriceFeedAdapter(this, feedId));
        _info[feedId] = Info({heartbeat: heartbeat, decimals: decimals, adapter: adapter, description: description});
        uint256[HISTORY] storage ring = _rounds[feedId];
        for (uint256 i; i < HISTORY; ++i) {
            ring[i] = _PLACEHOLDER;
        }
        _feedIds.push(feedId);
        emit FeedAdded(feedId, adapter, decimals, description);
        emit FeedConfigChanged(feedId, minAnswer, maxAnswer, heartbeat);
    }

    /// @notice Change a feed's answer bounds and heartbeat.
    /// @param feedId The feed.
    /// @param minAnswer Lowest accepted answer (>= 0).
    /// @param maxAnswer Highest accepted answer (> minAnswer).
    /// @param heartbeat Seconds after which consumers should treat the answer as stale.
    function setFeedConfig(bytes32 feedId, int96 minAnswer, int96 maxAnswer, uint32 heartbeat)
        external
        onlyRole(FEED_ADMIN_ROLE)
    {
        Hot storage hot = _hot[feedId];
        if (hot.maxAnswer == 0) revert UnknownFeed(feedId);
        _checkConfig(minAnswer, maxAnswer, heartbeat);
        hot.minAnswer = minAnswer;
        hot.maxAnswer = maxAnswer;
        _info[feedId].heartbeat = heartbeat;
        emit FeedConfigChanged(feedId, minAnswer, maxAnswer, heartbeat);
    }

    /// @notice Replace the oracle signer set and quorum.
    /// @param newSigners Signers, strictly ascending, non-zero, at most MAX_SIGNERS.
    /// @param newQuorum Signatures needed: a strict majority of the signers, at most their number.
    function setSigners(address[] calldata newSigners, uint8 newQuorum) external onlyRole(SIGNER_ADMIN_ROLE) {
        _setSigners(newSigners, newQuorum);
    }

    function _checkConfig(int96 minAnswer, int96 maxAnswer, uint32 heartbeat) private pure {
        if (minAnswer < 0 || maxAnswer <= minAnswer || heartbeat == 0) revert InvalidFeedConfig();
    }

    function _setSigners(address[] memory newSigners, uint8 newQuorum) private {
        uint256 n = newSigners.length;
        if (n == 0 || n > MAX_SIGNERS) revert InvalidSigners();
        if (newQuorum == 0 || newQuorum > n || uint256(newQuorum) * 2 <= n) revert InvalidQuorum(newQuorum, n);
        for (uint256 i; i < _signers.length; ++i) {
            _isSigner[_signers[i]] = false;
        }
        address previous;
        for (uint256 i; i < n; ++i) {
            if (newSigners[i] <= previous) revert InvalidSigners();
            _isSigner[newSigners[i]] = true;
            previous = newSigners[i];
        }
        _signers = newSigners;
        quorum = newQuorum;
        uint32 v = ++configVersion;
        emit SignersChanged(newSigners, newQuorum, v);
    }
}
