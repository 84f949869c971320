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
        keccak256("Observation(bytes32[] feedIds,uint32[] roundIds,uint32 observedAt,int192[] answers)");
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
    // minAnswer int96 [64,160) | maxAnswer int96 [160,256). maxAnswer == 0 means "no such feed".
    uint256 private constant _LOW64 = (1 << 64) - 1;

    mapping(bytes32 feedId => uint256) private _hot;
    mapping(bytes32 feedId => Info) private _info;
    // slither-disable-next-line uninitialized-state - written by addFeed and (assembly) by _apply
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
        uint32 observedAt,
        int192[] calldata answers,
        Signature[] calldata signatures
    ) external returns (uint256 updated) {
        uint256 nFeeds = feedIds.length;
        uint256 nSigs = signatures.length;
        if (nFeeds == 0) revert EmptyReport();
        if (roundIds.length != nFeeds || answers.length != nFeeds * nSigs) revert LengthMismatch();
        uint256 q = quorum;
        if (nSigs < q) revert QuorumNotMet(nSigs, q);
        _verify(feedIds, roundIds, observedAt, answers, signatures);
        updated = _applyAll(feedIds, roundIds, observedAt, answers, nSigs);
    }

    function _verify(
        bytes32[] calldata feedIds,
        uint32[] calldata roundIds,
        uint32 observedAt,
        int192[] calldata answers,
        Signature[] calldata signatures
    ) private view {
        // abi.encode(OBSERVATION_TYPEHASH, hFeeds, hRounds, observedAt, hAnswers): the last word per signer
        bytes memory head = abi.encode(
            OBSERVATION_TYPEHASH,
            keccak256(abi.encodePacked(feedIds)),
            keccak256(abi.encodePacked(roundIds)),
            observedAt,
            bytes32(0)
        );
        uint256 nFeeds = feedIds.length;
        uint256 nSigs = signatures.length;
        address previous;
        for (uint256 s; s < nSigs; ++s) {
            bytes32 structHash;
            // hash of signer s's answers (answers[f * nSigs + s] for every f), gathered in scratch memory
            assembly ("memory-safe") {
                let ptr := mload(0x40)
                let src := add(answers.offset, shl(5, s))
                let stride := shl(5, nSigs)
                for { let f := 0 } lt(f, nFeeds) { f := add(f, 1) } {
                    mstore(add(ptr, shl(5, f)), calldataload(add(src, mul(f, stride))))
                }
                mstore(add(head, 160), keccak256(ptr, shl(5, nFeeds)))
                structHash := keccak256(add(head, 32), 160)
            }
            bytes32 digest = _hashTypedDataV4(structHash);
            // slither-disable-next-line unused-return - the error code is checked below; the third value only details it
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
        uint32 observedAt,
        int192[] calldata answers,
        uint256 nSigs
    ) private returns (uint256 updated) {
        uint256 firstFailed = type(uint256).max;
        for (uint256 f; f < feedIds.length; ++f) {
            int256 answer = _median(answers, f * nSigs, nSigs);
            if (_apply(feedIds[f], roundIds[f], observedAt, answer)) {
                ++updated;
            } else {
                emit FeedUpdateSkipped(feedIds[f], roundIds[f], _reason(feedIds[f], roundIds[f], observedAt, answer));
                if (firstFailed == type(uint256).max) firstFailed = f;
            }
        }
        if (updated == 0) {
            uint256 f = firstFailed;
            bytes memory err = _reason(feedIds[f], roundIds[f], observedAt, _median(answers, f * nSigs, nSigs));
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
        int96 maxAnswer = int96(uint96(hot >> 160));
        if (
            maxAnswer == 0 || roundId != uint32(hot) + 1 || observedAt <= uint32(hot >> 32)
                || observedAt > block.timestamp || answer < int96(uint96(hot >> 64)) || answer > maxAnswer
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
        int96 maxAnswer = int96(uint96(hot >> 160));
        if (maxAnswer == 0) return abi.encodeWithSelector(UnknownFeed.selector, feedId);
        uint32 latestRound = uint32(hot);
        uint32 latestObservedAt = uint32(hot >> 32);
        if (roundId != latestRound + 1) {
            return abi.encodeWithSelector(UnexpectedRound.selector, feedId, latestRound + 1, roundId);
        }
        if (observedAt <= latestObservedAt) {
            return abi.encodeWithSelector(StaleReport.selector, feedId, observedAt, latestObservedAt);
        }
        if (observedAt > block.timestamp) {
            return abi.encodeWithSelector(FutureReport.selector, feedId, observedAt, block.timestamp);
        }
        int96 minAnswer = int96(uint96(hot >> 64));
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
        uint32 latest = uint32(_hot[feedId]);
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
        uint256 hot = _hot[feedId];
        if (hot >> 160 == 0) revert UnknownFeed(feedId);
        Info storage info = _info[feedId];
        config = FeedConfig({
            decimals: info.decimals,
            heartbeat: info.heartbeat,
            minAnswer: int96(uint96(hot >> 64)),
            maxAnswer: int96(uint96(hot >> 160)),
            latestRound: uint32(hot),
            latestObservedAt: uint32(hot >> 32),
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
        if (_hot[feedId] >> 160 != 0) revert FeedExists(feedId);
        if (decimals > 36) revert InvalidFeedConfig();
        _checkConfig(minAnswer, maxAnswer, heartbeat);
        _hot[feedId] = _bounds(minAnswer, maxAnswer);
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
        uint256 hot = _hot[feedId];
        if (hot >> 160 == 0) revert UnknownFeed(feedId);
        _checkConfig(minAnswer, maxAnswer, heartbeat);
        _hot[feedId] = (hot & _LOW64) | _bounds(minAnswer, maxAnswer);
        _info[feedId].heartbeat = heartbeat;
        emit FeedConfigChanged(feedId, minAnswer, maxAnswer, heartbeat);
    }

    /// @notice Replace the oracle signer set and quorum.
    /// @param newSigners Signers, strictly ascending, non-zero, at most MAX_SIGNERS.
    /// @param newQuorum Signatures needed: a strict majority of the signers, at most their number.
    function setSigners(address[] calldata newSigners, uint8 newQuorum) external onlyRole(SIGNER_ADMIN_ROLE) {
        _setSigners(newSigners, newQuorum);
    }

    function _bounds(int96 minAnswer, int96 maxAnswer) private pure returns (uint256) {
        return (uint256(uint96(minAnswer)) << 64) | (uint256(uint96(maxAnswer)) << 160);
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
        // slither-disable-next-line uninitialized-local - starts at address(0) on purpose: signers ascend from it
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
