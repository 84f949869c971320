// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {QuorumSignatures} from "../signatures/QuorumSignatures.sol";
import {PriceFeedAdapter} from "./PriceFeedAdapter.sol";

/// @title PriceFeed
/// @notice Reference prices for Stockpile products: many feeds in one contract, each updated by
///         EIP-712 reports that every contributing signer signed as a whole (all observations, the
///         feeds, rounds, observation time, config digest and deadline); a report needs observations
///         from more than 2f of the n > 3f configured signers and the answer is their median.
///         Several feeds per transaction. Every feed gets its own Chainlink-style adapter address.
/// @dev Roles: SIGNER_ADMIN_ROLE (signer set, f) and FEED_ADMIN_ROLE (feeds, bounds, heartbeat,
///      maximum report age) administer themselves and are held by the TimelockController on a real
///      network, so the (untimelocked) default admin cannot grant them to itself.
///      The signer list is not read from storage in `transmit`: the transmitter passes it and the
///      contract checks that it hashes to the stored config digest (one storage read instead of one
///      per signer). Storage per feed: one hot slot (latest round, latest observation time, maximum
///      report age, bounds) and a ring of `HISTORY` round slots (int192 answer | uint32 observedAt |
///      uint32 transmittedAt), pre-written with a non-zero placeholder when the feed is added so every
///      later round overwrites a non-zero slot (5,000 gas instead of 22,100).
contract PriceFeed is IPriceFeed, AccessControlDefaultAdminRules, EIP712 {
    /// @notice Role that replaces the oracle signer set and f (the TimelockController).
    bytes32 public constant SIGNER_ADMIN_ROLE = keccak256("SIGNER_ADMIN_ROLE");
    /// @notice Role that adds feeds and changes their bounds, heartbeat and maximum report age (the TimelockController).
    bytes32 public constant FEED_ADMIN_ROLE = keccak256("FEED_ADMIN_ROLE");
    /// @notice EIP-712 type of a report.
    bytes32 public constant REPORT_TYPEHASH = keccak256(
        "Report(bytes32 configDigest,uint32 observedAt,uint32 deadline,uint256 observers,bytes32[] feedIds,uint32[] roundIds,int192[] answers)"
    );
    /// @notice Number of past rounds retained per feed (getRoundData).
    uint32 public constant HISTORY = 32;
    /// @notice Largest signer set.
    uint256 public constant MAX_SIGNERS = 31;

    uint256 private constant _PLACEHOLDER = 1;

    struct Info {
        uint32 heartbeat;
        uint8 decimals;
        address adapter;
        string description;
    }

    // Hot slot of a feed, one word: latestRound [0,32) | latestObservedAt [32,64) |
    // maxReportAge [64,96) | minAnswer int80 [96,176) | maxAnswer int80 [176,256).
    // maxAnswer == 0 means "no such feed".
    uint256 private constant _LOW64 = (1 << 64) - 1;

    mapping(bytes32 feedId => uint256) private _hot;
    mapping(bytes32 feedId => Info) private _info;
    // slither-disable-next-line uninitialized-state - written in assembly by _apply (sstore at keccak(feedId, _rounds.slot) + round % HISTORY)
    mapping(bytes32 feedId => uint256[HISTORY]) private _rounds;
    bytes32[] private _feedIds;

    /// @notice The digest every report must carry: keccak256(abi.encode(chainid, this, configVersion, f, signers)).
    bytes32 public configDigest;
    address[] private _signers;
    /// @notice Faulty signers tolerated: a report needs observations from more than 2f signers.
    uint8 public f;
    /// @notice Incremented on every signer set change (part of the config digest).
    uint32 public configVersion;

    /// @notice Deploy the hub.
    /// @param admin Default admin (two-step, delayed handover); administers no price-trust role.
    /// @param adminDelay Delay of the two-step default admin handover (seconds).
    /// @param configAdmin Initial holder of SIGNER_ADMIN_ROLE and FEED_ADMIN_ROLE: the
    ///        TimelockController, or the deployer, which hands them over to it.
    /// @param initialSigners Oracle signers, strictly ascending.
    /// @param initialF Faulty signers tolerated (>= 1, 3f < number of signers).
    constructor(address admin, uint48 adminDelay, address configAdmin, address[] memory initialSigners, uint8 initialF)
        AccessControlDefaultAdminRules(adminDelay, admin)
        EIP712("Stockpile PriceFeed", "1")
    {
        _setRoleAdmin(SIGNER_ADMIN_ROLE, SIGNER_ADMIN_ROLE);
        _setRoleAdmin(FEED_ADMIN_ROLE, FEED_ADMIN_ROLE);
        _grantRole(SIGNER_ADMIN_ROLE, configAdmin);
        _grantRole(FEED_ADMIN_ROLE, configAdmin);
        _setConfig(initialSigners, initialF);
    }

    // ------------------------------------------------------------------------------- reporting

    /// @inheritdoc IPriceFeed
    function transmit(Report calldata report, SignerSet calldata config, Signature[] calldata signatures)
        external
        returns (uint256 updated)
    {
        uint256 nFeeds = report.feedIds.length;
        if (nFeeds == 0) revert EmptyReport();
        bytes32 current = configDigest;
        QuorumSignatures.checkConfig(report.configDigest, current);
        QuorumSignatures.checkConfig(_digest(config.version, config.f, config.signers), current);
        QuorumSignatures.checkDeadline(report.deadline);
        uint256 nObs = _checkObservers(report.observers, config, signatures.length);
        if (report.roundIds.length != nFeeds || report.answers.length != nFeeds * nObs) revert LengthMismatch();
        _verify(report, config.signers, signatures);
        updated = _applyAll(report, nObs);
    }

    /// @dev Observer count of the bitmap; refuses indices outside the set, too few observers, or a
    ///      signature count that differs from the observer count.
    function _checkObservers(uint256 observers, SignerSet calldata config, uint256 nSigs)
        private
        pure
        returns (uint256 nObs)
    {
        uint256 n = config.signers.length;
        if (observers >> n != 0) revert InvalidObservers(observers);
        for (uint256 bits = observers; bits != 0; bits &= bits - 1) {
            ++nObs;
        }
        uint256 needed = 2 * uint256(config.f) + 1;
        if (nObs < needed) revert QuorumNotMet(nObs, needed);
        if (nSigs != nObs) revert SignatureCountMismatch(nSigs, nObs);
    }

    /// @dev Every observer signed the whole report: signature k comes from the k-th set bit's signer.
    function _verify(Report calldata report, address[] calldata signerList, Signature[] calldata signatures)
        private
        view
    {
        bytes32 digest = _hashTypedDataV4(reportHash(report));
        uint256 bits = report.observers;
        // slither-disable-next-line uninitialized-local - the signature index starts at zero on purpose (Solidity zero-initialises locals)
        uint256 k;
        for (uint256 i; bits != 0; ++i) {
            if (bits & (1 << i) == 0) continue;
            bits &= ~(1 << i);
            address signer = QuorumSignatures.recover(digest, signatures[k], k);
            if (signer != signerList[i]) revert NotSigner(signer);
            ++k;
        }
    }

    /// @notice The EIP-712 struct hash of a report.
    /// @param report The report.
    /// @return h keccak256(abi.encode(REPORT_TYPEHASH, configDigest, observedAt, deadline, observers,
    ///         keccak256(feedIds), keccak256(roundIds), keccak256(answers))) (arrays as 32-byte words).
    function reportHash(Report calldata report) public pure returns (bytes32 h) {
        bytes32 hFeeds = _hashWords(report.feedIds);
        bytes32 hRounds = _hashWords(report.roundIds);
        bytes32 hAnswers = _hashWords(report.answers);
        h = keccak256(
            abi.encode(
                REPORT_TYPEHASH,
                report.configDigest,
                report.observedAt,
                report.deadline,
                report.observers,
                hFeeds,
                hRounds,
                hAnswers
            )
        );
    }

    // keccak256 of an array's raw 32-byte calldata words (EIP-712 array encoding), in scratch memory.
    function _hashWords(bytes32[] calldata a) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, a.offset, shl(5, a.length))
            h := keccak256(ptr, shl(5, a.length))
        }
    }

    function _hashWords(uint32[] calldata a) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, a.offset, shl(5, a.length))
            h := keccak256(ptr, shl(5, a.length))
        }
    }

    function _hashWords(int192[] calldata a) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, a.offset, shl(5, a.length))
            h := keccak256(ptr, shl(5, a.length))
        }
    }

    /// @dev Applies every entry; reverts with the first entry's error when none was accepted.
    function _applyAll(Report calldata report, uint256 nObs) private returns (uint256 updated) {
        uint256 firstFailed = type(uint256).max;
        uint32 observedAt = report.observedAt;
        uint256 nFeeds = report.feedIds.length;
        for (uint256 i; i < nFeeds; ++i) {
            int256 answer = _median(report.answers, i * nObs, nObs);
            if (_apply(report.feedIds[i], report.roundIds[i], observedAt, answer)) {
                ++updated;
            } else {
                emit FeedUpdateSkipped(
                    report.feedIds[i],
                    report.roundIds[i],
                    _reason(report.feedIds[i], report.roundIds[i], observedAt, answer)
                );
                if (firstFailed == type(uint256).max) firstFailed = i;
            }
        }
        if (updated == 0) {
            uint256 i = firstFailed;
            bytes memory err = _reason(
                report.feedIds[i], report.roundIds[i], observedAt, _median(report.answers, i * nObs, nObs)
            );
            assembly ("memory-safe") {
                revert(add(err, 32), mload(err))
            }
        }
    }

    /// @dev Applies one entry when it passes every check; returns false (writing nothing) otherwise.
    function _apply(bytes32 feedId, uint32 roundId, uint32 observedAt, int256 answer) private returns (bool) {
        uint256 hotSlot;
        uint256 hot;
        assembly ("memory-safe") {
            mstore(0, feedId)
            mstore(0x20, _hot.slot)
            hotSlot := keccak256(0, 0x40)
            hot := sload(hotSlot)
        }
        int80 maxAnswer = int80(uint80(hot >> 176));
        if (
            maxAnswer == 0 || roundId != uint32(hot) + 1 || observedAt <= uint32(hot >> 32)
                || observedAt > block.timestamp || uint256(observedAt) + uint32(hot >> 64) < block.timestamp
                || answer < int80(uint80(hot >> 96)) || answer > maxAnswer
        ) return false;
        bytes32 topic = AnswerUpdated.selector;
        assembly ("memory-safe") {
            // _rounds[feedId][roundId % HISTORY] = answer | observedAt << 192 | block.timestamp << 224
            mstore(0, feedId)
            mstore(0x20, _rounds.slot)
            let ringSlot := add(keccak256(0, 0x40), mod(roundId, HISTORY))
            sstore(
                ringSlot,
                or(and(answer, 0xffffffffffffffffffffffffffffffffffffffffffffffff), or(shl(192, observedAt), shl(224, timestamp())))
            )
            sstore(hotSlot, or(and(hot, not(0xffffffffffffffff)), or(roundId, shl(32, observedAt))))
            mstore(0, roundId)
            mstore(0x20, answer)
            log2(0, 0x40, topic, feedId)
        }
        return true;
    }

    /// @dev The custom error (ABI-encoded) explaining why an entry was refused (failure path only).
    function _reason(bytes32 feedId, uint32 roundId, uint32 observedAt, int256 answer)
        private
        view
        returns (bytes memory)
    {
        uint256 hot = _hot[feedId];
        int80 maxAnswer = int80(uint80(hot >> 176));
        if (maxAnswer == 0) return abi.encodeWithSelector(UnknownFeed.selector, feedId);
        uint32 latestRound = uint32(hot);
        uint32 latestObservedAt = uint32(hot >> 32);
        uint32 maxReportAge = uint32(hot >> 64);
        if (roundId != latestRound + 1) {
            return abi.encodeWithSelector(UnexpectedRound.selector, feedId, latestRound + 1, roundId);
        }
        if (observedAt <= latestObservedAt) {
            return abi.encodeWithSelector(ObservationNotNewer.selector, feedId, observedAt, latestObservedAt);
        }
        if (observedAt > block.timestamp) {
            return abi.encodeWithSelector(ObservationInFuture.selector, feedId, observedAt, block.timestamp);
        }
        if (uint256(observedAt) + maxReportAge < block.timestamp) {
            return abi.encodeWithSelector(ReportTooOld.selector, feedId, observedAt, maxReportAge);
        }
        int80 minAnswer = int80(uint80(hot >> 96));
        return abi.encodeWithSelector(AnswerOutOfBounds.selector, feedId, answer, minAnswer, maxAnswer);
    }

    /// @dev Median of answers[base .. base + n) by insertion sort in scratch memory (past the free
    ///      memory pointer, not kept); even count: floor of the mean of the two middle values.
    ///      Reverts on a word that is not a clean int192.
    function _median(int192[] calldata answers, uint256 base, uint256 n) private pure returns (int256 m) {
        assembly ("memory-safe") {
            let column := mload(0x40)
            let src := add(answers.offset, shl(5, base))
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let v := calldataload(add(src, shl(5, i)))
                if iszero(eq(v, signextend(23, v))) { revert(0, 0) }
                let j := i
                for {} gt(j, 0) { j := sub(j, 1) } {
                    let prev := mload(add(column, shl(5, sub(j, 1))))
                    if iszero(sgt(prev, v)) { break }
                    mstore(add(column, shl(5, j)), prev)
                }
                mstore(add(column, shl(5, j)), v)
            }
            let mid := shr(1, n)
            switch and(n, 1)
            case 1 { m := mload(add(column, shl(5, mid))) }
            default { m := sar(1, add(mload(add(column, shl(5, sub(mid, 1)))), mload(add(column, shl(5, mid))))) }
        }
    }

    // ----------------------------------------------------------------------------------- reads

    /// @inheritdoc IPriceFeed
    function latestRoundData(bytes32 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        uint32 latest = uint32(_hot[feedId]);
        if (latest == 0) revert NoDataPresent(feedId, 0);
        return _round(feedId, latest);
    }

    /// @inheritdoc IPriceFeed
    function getRoundData(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        _checkRetained(feedId, roundId);
        return _round(feedId, uint32(roundId));
    }

    /// @notice When a retained round's report was observed and when it landed on chain.
    /// @param feedId The feed.
    /// @param roundId The round.
    /// @return observedAt Observation time signed in the report (what `updatedAt` reports).
    /// @return transmittedAt Block time of the transaction that applied it.
    function roundTimes(bytes32 feedId, uint80 roundId) external view returns (uint32 observedAt, uint32 transmittedAt) {
        _checkRetained(feedId, roundId);
        uint256 packed = _rounds[feedId][uint32(roundId) % HISTORY];
        return (uint32(packed >> 192), uint32(packed >> 224));
    }

    function _checkRetained(bytes32 feedId, uint80 roundId) private view {
        uint32 latest = uint32(_hot[feedId]);
        if (roundId == 0 || roundId > latest || roundId + HISTORY <= latest) revert NoDataPresent(feedId, roundId);
    }

    function _round(bytes32 feedId, uint32 roundId)
        private
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        uint256 packed = _rounds[feedId][roundId % HISTORY];
        answer = int256(int192(uint192(packed)));
        startedAt = uint32(packed >> 192);
        updatedAt = startedAt;
        return (roundId, answer, startedAt, updatedAt, roundId);
    }

    /// @inheritdoc IPriceFeed
    function feedConfig(bytes32 feedId) external view returns (FeedConfig memory config) {
        uint256 hot = _hot[feedId];
        if (hot >> 176 == 0) revert UnknownFeed(feedId);
        Info storage info = _info[feedId];
        config = FeedConfig({
            decimals: info.decimals,
            heartbeat: info.heartbeat,
            maxReportAge: uint32(hot >> 64),
            minAnswer: int80(uint80(hot >> 96)),
            maxAnswer: int80(uint80(hot >> 176)),
            latestRound: uint32(hot),
            latestObservedAt: uint32(hot >> 32),
            adapter: info.adapter,
            description: info.description
        });
    }

    /// @notice Registered feed ids, in order of addition.
    /// @return The feed ids.
    function feedIds() external view returns (bytes32[] memory) {
        return _feedIds;
    }

    /// @notice The AggregatorV3 adapter of a feed.
    /// @param feedId The feed.
    /// @return The adapter (zero for an unknown feed).
    function adapterOf(bytes32 feedId) external view returns (address) {
        return _info[feedId].adapter;
    }

    /// @inheritdoc IPriceFeed
    function signers() external view returns (address[] memory) {
        return _signers;
    }

    /// @notice The configuration a transmitter passes to `transmit`.
    /// @return The current signer set, f and config version.
    function signerSet() external view returns (SignerSet memory) {
        return SignerSet({version: configVersion, f: f, signers: _signers});
    }

    /// @inheritdoc IPriceFeed
    function quorum() external view returns (uint8) {
        return 2 * f + 1;
    }

    /// @notice The EIP-712 domain separator reports are signed under.
    /// @return The separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IPriceFeed
    function version() external pure returns (uint256) {
        return 2;
    }

    // ----------------------------------------------------------------------------------- admin

    /// @notice Register a feed and deploy its AggregatorV3 adapter.
    /// @param feedId Feed id (e.g. bytes32 of "NDPR-OXIDE/USD").
    /// @param decimals Decimals of the answer (<= 18).
    /// @param description Chainlink-style description, e.g. "NDPR-OXIDE / USD per kg".
    /// @param minAnswer Lowest accepted answer (>= 0).
    /// @param maxAnswer Highest accepted answer (> minAnswer).
    /// @param heartbeat Seconds after which consumers should treat the answer as stale.
    /// @param maxReportAge Oldest observation accepted, in seconds before the block time (1..heartbeat).
    /// @return adapter The adapter address.
    function addFeed(
        bytes32 feedId,
        uint8 decimals,
        string calldata description,
        int80 minAnswer,
        int80 maxAnswer,
        uint32 heartbeat,
        uint32 maxReportAge
    ) external onlyRole(FEED_ADMIN_ROLE) returns (address adapter) {
        if (_hot[feedId] >> 176 != 0) revert FeedExists(feedId);
        if (decimals > 18) revert InvalidFeedConfig();
        _checkConfig(minAnswer, maxAnswer, heartbeat, maxReportAge);
        _hot[feedId] = _packConfig(minAnswer, maxAnswer, maxReportAge);
        adapter = address(new PriceFeedAdapter(this, feedId));
        _info[feedId] = Info({heartbeat: heartbeat, decimals: decimals, adapter: adapter, description: description});
        uint256[HISTORY] storage ring = _rounds[feedId];
        for (uint256 i; i < HISTORY; ++i) {
            ring[i] = _PLACEHOLDER;
        }
        _feedIds.push(feedId);
        emit FeedAdded(feedId, adapter, decimals, description);
        emit FeedConfigChanged(feedId, minAnswer, maxAnswer, heartbeat, maxReportAge);
    }

    /// @notice Change a feed's answer bounds, heartbeat and maximum report age.
    /// @param feedId The feed.
    /// @param minAnswer Lowest accepted answer (>= 0).
    /// @param maxAnswer Highest accepted answer (> minAnswer).
    /// @param heartbeat Seconds after which consumers should treat the answer as stale.
    /// @param maxReportAge Oldest observation accepted, in seconds before the block time (1..heartbeat).
    function setFeedConfig(bytes32 feedId, int80 minAnswer, int80 maxAnswer, uint32 heartbeat, uint32 maxReportAge)
        external
        onlyRole(FEED_ADMIN_ROLE)
    {
        uint256 hot = _hot[feedId];
        if (hot >> 176 == 0) revert UnknownFeed(feedId);
        _checkConfig(minAnswer, maxAnswer, heartbeat, maxReportAge);
        _hot[feedId] = (hot & _LOW64) | _packConfig(minAnswer, maxAnswer, maxReportAge);
        _info[feedId].heartbeat = heartbeat;
        emit FeedConfigChanged(feedId, minAnswer, maxAnswer, heartbeat, maxReportAge);
    }

    /// @notice Replace the oracle signer set and f; reports signed under the old configuration are refused.
    /// @param newSigners Signers, strictly ascending, non-zero, at most MAX_SIGNERS; index = observer index.
    /// @param newF Faulty signers tolerated: at least 1, and more than 3f signers.
    function setConfig(address[] calldata newSigners, uint8 newF) external onlyRole(SIGNER_ADMIN_ROLE) {
        _setConfig(newSigners, newF);
    }

    function _packConfig(int80 minAnswer, int80 maxAnswer, uint32 maxReportAge) private pure returns (uint256) {
        return (uint256(maxReportAge) << 64) | (uint256(uint80(minAnswer)) << 96) | (uint256(uint80(maxAnswer)) << 176);
    }

    function _checkConfig(int80 minAnswer, int80 maxAnswer, uint32 heartbeat, uint32 maxReportAge) private pure {
        if (minAnswer < 0 || maxAnswer <= minAnswer || heartbeat == 0 || maxReportAge == 0 || maxReportAge > heartbeat)
        {
            revert InvalidFeedConfig();
        }
    }

    function _digest(uint32 version_, uint8 f_, address[] memory signerList) private view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), version_, f_, signerList));
    }

    function _setConfig(address[] memory newSigners, uint8 newF) private {
        uint256 n = newSigners.length;
        if (n == 0 || n > MAX_SIGNERS) revert InvalidSigners();
        if (newF == 0 || 3 * uint256(newF) >= n) revert InvalidQuorum(newF, n);
        // slither-disable-next-line uninitialized-local - starts at address(0), below every signer, on purpose (Solidity zero-initialises locals)
        address previous;
        for (uint256 i; i < n; ++i) {
            if (newSigners[i] <= previous) revert InvalidSigners();
            previous = newSigners[i];
        }
        _signers = newSigners;
        f = newF;
        uint32 v = ++configVersion;
        bytes32 digest = _digest(v, newF, newSigners);
        configDigest = digest;
        emit ConfigSet(digest, v, newSigners, newF);
    }
}
