// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRulesUpgradeable} from
    "@openzeppelin/contracts-upgradeable/access/extensions/AccessControlDefaultAdminRulesUpgradeable.sol";
import {EIP712Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/cryptography/EIP712Upgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IReserveAttestor} from "../interfaces/IReserveAttestor.sol";
import {IAggregatorV3} from "../interfaces/IAggregatorV3.sol";
import {QuorumSignatures} from "../signatures/QuorumSignatures.sol";

/// @title ReserveAttestor
/// @notice One product's proof-of-reserve: the custodian's lot list (Merkle root in OpenZeppelin
/// StandardMerkleTree encoding), total quantity in token base units, lot count, as-of time and report hash.
/// An attestation is accepted only with EIP-712 signatures from a quorum (a strict majority) of the registered
/// attestors over the attestation, the attestor's current config digest and a deadline, and only when its
/// as-of time is newer than the current one. Also readable as a Chainlink-style proof-of-reserve
/// feed (AggregatorV3Interface: the answer is the attested total).
/// @dev Behind an ERC-1967 proxy (UUPS). UPGRADER_ROLE (upgrades) and ATTESTOR_MANAGER_ROLE (attestor set,
/// quorum) administer themselves and are given to the TimelockController at initialisation: the default
/// admin can grant neither, so every change of code, attestors or quorum waits out the timelock's delay.
/// Storage is ERC-7201 namespaced. `attest` is open to anyone (a relayer): the attestors' signatures carry
/// the authority, and the EIP-712 domain binds them to this chain and this contract. Gas of `attest` does
/// not depend on the number of lots: only the root is stored.
contract ReserveAttestor is
    IReserveAttestor,
    IAggregatorV3,
    AccessControlDefaultAdminRulesUpgradeable,
    EIP712Upgradeable,
    UUPSUpgradeable
{
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice Role allowed to add/remove attestors and change the quorum (the TimelockController; self-administered).
    bytes32 public constant ATTESTOR_MANAGER_ROLE = keccak256("ATTESTOR_MANAGER_ROLE");
    /// @notice Role allowed to upgrade the implementation (the TimelockController; self-administered).
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");
    /// @notice EIP-712 type hash of {IReserveAttestor.Attestation}.
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(bytes32 merkleRoot,uint256 totalQuantity,uint64 lotCount,uint64 asOf,bytes32 reportHash,bytes32 configDigest,uint64 deadline)"
    );

    /// @dev One accepted round (4 storage slots).
    struct Round {
        bytes32 merkleRoot;
        uint256 totalQuantity;
        uint64 lotCount;
        uint64 asOf;
        uint64 attestedAt;
        bytes32 reportHash;
    }

    /// @custom:storage-location erc7201:stockpile.storage.ReserveAttestor
    struct ReserveAttestorStorage {
        string productCode;
        uint8 decimals;
        uint80 latestRoundId;
        uint256 quorum;
        EnumerableSet.AddressSet attestors;
        mapping(uint80 roundId => Round) rounds;
        uint64 configVersion; // bumped by every attestor set or quorum change
        address token; // appended: the one CommodityToken this attestor backs (bindToken, once)
    }

    // keccak256(abi.encode(uint256(keccak256("stockpile.storage.ReserveAttestor")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_LOCATION = 0xa0f0216615e405594b2458279ad24300c767f69ce7bb6b4411423602bf8e9a00;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Initialise the proxy.
    /// @param productCode_ The product code served (e.g. "NDPR-OXIDE").
    /// @param decimals_ The product token's decimals (the feed's decimals).
    /// @param attestors_ The initial attestor set.
    /// @param quorum_ Signatures needed per attestation (a strict majority of attestors_).
    /// @param admin Default admin (two-step, delayed handover).
    /// @param adminDelay Delay of a default-admin handover, in seconds.
    /// @param timelock Holder of UPGRADER_ROLE and ATTESTOR_MANAGER_ROLE (the TimelockController).
    function initialize(
        string calldata productCode_,
        uint8 decimals_,
        address[] calldata attestors_,
        uint256 quorum_,
        address admin,
        uint48 adminDelay,
        address timelock
    ) external initializer {
        if (bytes(productCode_).length == 0) revert EmptyProductCode();
        if (admin == address(0) || timelock == address(0)) revert ZeroAddress();
        __AccessControlDefaultAdminRules_init(adminDelay, admin);
        __EIP712_init("Stockpile ReserveAttestor", "1");
        _setRoleAdmin(UPGRADER_ROLE, UPGRADER_ROLE);
        _setRoleAdmin(ATTESTOR_MANAGER_ROLE, ATTESTOR_MANAGER_ROLE);
        _grantRole(ATTESTOR_MANAGER_ROLE, timelock);
        _grantRole(UPGRADER_ROLE, timelock);
        ReserveAttestorStorage storage $ = _storage();
        $.productCode = productCode_;
        $.decimals = decimals_;
        for (uint256 i = 0; i < attestors_.length; ++i) {
            _addAttestor($, attestors_[i]);
        }
        _setQuorum($, quorum_);
        _bumpConfig($);
    }

    // ---------------------------------------------------------------- attest

    /// @notice Submit an attestation signed by at least a quorum of attestors. Anyone may submit.
    /// @param a The attestation.
    /// @param signedConfigDigest The attestor's `configDigest()` the attestors signed under.
    /// @param deadline Last block time at which the signatures are accepted.
    /// @param signatures EIP-712 signatures over (a, signedConfigDigest, deadline), ordered by strictly
    /// increasing signer address.
    /// @return roundId The new round id.
    function attest(
        Attestation calldata a,
        bytes32 signedConfigDigest,
        uint64 deadline,
        Signature[] calldata signatures
    ) external returns (uint80 roundId) {
        ReserveAttestorStorage storage $ = _storage();
        QuorumSignatures.checkConfig(signedConfigDigest, _configDigest($));
        QuorumSignatures.checkDeadline(deadline);
        _checkShape(a);
        uint64 currentAsOf = $.rounds[$.latestRoundId].asOf;
        if (a.asOf <= currentAsOf) revert AsOfNotNewer(a.asOf, currentAsOf);
        if (a.asOf > block.timestamp) revert AsOfInFuture(a.asOf, uint64(block.timestamp));

        // A signature over another chain id, another contract or other values recovers to an
        // unrelated address: NotSigner.
        QuorumSignatures.verifyAscending(
            attestationDigest(a, signedConfigDigest, deadline), signatures, $.quorum, _isAttestor
        );

        unchecked {
            roundId = $.latestRoundId + 1;
        }
        $.latestRoundId = roundId;
        $.rounds[roundId] = Round({
            merkleRoot: a.merkleRoot,
            totalQuantity: a.totalQuantity,
            lotCount: a.lotCount,
            asOf: a.asOf,
            attestedAt: uint64(block.timestamp),
            reportHash: a.reportHash
        });
        emit ReserveAttested(roundId, a.merkleRoot, a.totalQuantity, a.lotCount, a.asOf, a.reportHash);
    }

    /// @notice The EIP-712 digest attestors sign (domain "Stockpile ReserveAttestor", version "1").
    /// @param a The attestation.
    /// @param signedConfigDigest The config digest signed under (normally `configDigest()`).
    /// @param deadline The deadline signed.
    /// @return The typed-data digest.
    function attestationDigest(Attestation calldata a, bytes32 signedConfigDigest, uint64 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ATTESTATION_TYPEHASH,
                    a.merkleRoot,
                    a.totalQuantity,
                    a.lotCount,
                    a.asOf,
                    a.reportHash,
                    signedConfigDigest,
                    deadline
                )
            )
        );
    }

    /// @notice The digest every attestation must be signed with: keccak256(abi.encode(chainid, this, configVersion)).
    /// @return The current config digest.
    function configDigest() external view returns (bytes32) {
        return _configDigest(_storage());
    }

    /// @notice Incremented by every attestor set or quorum change.
    /// @return The current config version.
    function configVersion() external view returns (uint64) {
        return _storage().configVersion;
    }

    // ---------------------------------------------------------------- admin

    /// @notice Register an attestor; refused when the quorum would no longer be a strict majority
    /// (raise the quorum first, in the same timelock batch).
    /// @param attestor The attestor's signing address.
    function addAttestor(address attestor) external onlyRole(ATTESTOR_MANAGER_ROLE) {
        ReserveAttestorStorage storage $ = _storage();
        _addAttestor($, attestor);
        _checkQuorum($.quorum, $.attestors.length());
        _bumpConfig($);
    }

    /// @notice Remove an attestor; refused if fewer attestors than the quorum would remain.
    /// @param attestor The attestor's signing address.
    function removeAttestor(address attestor) external onlyRole(ATTESTOR_MANAGER_ROLE) {
        ReserveAttestorStorage storage $ = _storage();
        if (!$.attestors.remove(attestor)) revert AttestorNotRegistered(attestor);
        _checkQuorum($.quorum, $.attestors.length());
        emit AttestorRemoved(attestor);
        _bumpConfig($);
    }

    /// @notice Change the number of signatures needed per attestation.
    /// @param newQuorum A strict majority of the attestors, at most their number.
    function setQuorum(uint256 newQuorum) external onlyRole(ATTESTOR_MANAGER_ROLE) {
        ReserveAttestorStorage storage $ = _storage();
        _setQuorum($, newQuorum);
        _bumpConfig($);
    }

    /// @inheritdoc IReserveAttestor
    function bindToken(address token_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (token_ == address(0)) revert ZeroAddress();
        ReserveAttestorStorage storage $ = _storage();
        if ($.token != address(0)) revert TokenAlreadyBound($.token);
        $.token = token_;
        emit TokenBound(token_);
    }

    /// @inheritdoc IReserveAttestor
    function token() external view returns (address) {
        return _storage().token;
    }

    // ---------------------------------------------------------------- views: reserve

    /// @inheritdoc IReserveAttestor
    function productCode() external view returns (string memory) {
        return _storage().productCode;
    }

    /// @inheritdoc IReserveAttestor
    function latestAttestation() external view returns (Attestation memory attestation, uint80 roundId, uint64 attestedAt) {
        ReserveAttestorStorage storage $ = _storage();
        roundId = $.latestRoundId;
        Round storage r = $.rounds[roundId];
        attestation = Attestation(r.merkleRoot, r.totalQuantity, r.lotCount, r.asOf, r.reportHash);
        attestedAt = r.attestedAt;
    }

    /// @notice The attestation of a past round.
    /// @param roundId A round id (1..latest).
    /// @return attestation The attestation accepted in that round.
    /// @return attestedAt Block time it was accepted.
    function attestationAt(uint80 roundId) external view returns (Attestation memory attestation, uint64 attestedAt) {
        Round storage r = _round(roundId);
        attestation = Attestation(r.merkleRoot, r.totalQuantity, r.lotCount, r.asOf, r.reportHash);
        attestedAt = r.attestedAt;
    }

    /// @inheritdoc IReserveAttestor
    function reserveTotal() external view returns (uint256 totalQuantity, uint64 asOf) {
        ReserveAttestorStorage storage $ = _storage();
        Round storage r = $.rounds[$.latestRoundId];
        return (r.totalQuantity, r.asOf);
    }

    /// @notice The latest round id (0 if none yet).
    function latestRoundId() external view returns (uint80) {
        return _storage().latestRoundId;
    }

    /// @notice Signatures needed per attestation.
    function quorum() external view returns (uint256) {
        return _storage().quorum;
    }

    /// @notice Whether `account` is a registered attestor.
    /// @param account The address to check.
    function isAttestor(address account) external view returns (bool) {
        return _storage().attestors.contains(account);
    }

    /// @notice The registered attestors (unordered).
    function attestors() external view returns (address[] memory) {
        return _storage().attestors.values();
    }

    // ---------------------------------------------------------------- views: lots

    /// @notice The StandardMerkleTree leaf of a lot:
    /// keccak256(bytes.concat(keccak256(abi.encode(warehouseId, lotId, productCode, form, purityPpm, quantity, assayRef)))).
    /// @return The leaf hash.
    function lotLeaf(
        string memory warehouseId,
        string memory lotId,
        string memory productCode_,
        string memory form,
        uint32 purityPpm,
        uint256 quantity,
        string memory assayRef
    ) public pure returns (bytes32) {
        return keccak256(
            bytes.concat(keccak256(abi.encode(warehouseId, lotId, productCode_, form, purityPpm, quantity, assayRef)))
        );
    }

    /// @notice Whether a lot is in the latest attested lot list.
    /// @param proof The lot's StandardMerkleTree proof (sibling hashes, leaf to root).
    /// @return True if the proof leads from the lot's leaf to the latest root.
    function verifyLot(
        string memory warehouseId,
        string memory lotId,
        string memory productCode_,
        string memory form,
        uint32 purityPpm,
        uint256 quantity,
        string memory assayRef,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 leaf = lotLeaf(warehouseId, lotId, productCode_, form, purityPpm, quantity, assayRef);
        ReserveAttestorStorage storage $ = _storage();
        return _verify($.rounds[$.latestRoundId].merkleRoot, leaf, proof);
    }

    /// @notice Whether a leaf is in the latest attested lot list.
    /// @param leaf A StandardMerkleTree leaf (see lotLeaf).
    /// @param proof Its proof.
    /// @return True if the proof leads from `leaf` to the latest root.
    function verifyLeaf(bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        ReserveAttestorStorage storage $ = _storage();
        return _verify($.rounds[$.latestRoundId].merkleRoot, leaf, proof);
    }

    /// @notice Whether a leaf was in the lot list attested in round `roundId`.
    /// @param roundId A round id (1..latest).
    /// @param leaf A StandardMerkleTree leaf (see lotLeaf).
    /// @param proof Its proof.
    /// @return True if the proof leads from `leaf` to that round's root.
    function verifyLeafAt(uint80 roundId, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return _verify(_round(roundId).merkleRoot, leaf, proof);
    }

    // ---------------------------------------------------------------- AggregatorV3Interface

    /// @inheritdoc IAggregatorV3
    function decimals() external view returns (uint8) {
        return _storage().decimals;
    }

    /// @inheritdoc IAggregatorV3
    function description() external view returns (string memory) {
        return string.concat(_storage().productCode, " reserves");
    }

    /// @inheritdoc IAggregatorV3
    function version() external pure returns (uint256) {
        return 1;
    }

    /// @inheritdoc IAggregatorV3
    /// @dev answer = attested total (token base units), startedAt = custodian as-of time,
    /// updatedAt = block time of acceptance. Reverts with UnknownRound for a round not (yet) attested.
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round storage r = _round(_roundId);
        return (_roundId, int256(r.totalQuantity), r.asOf, r.attestedAt, _roundId);
    }

    /// @inheritdoc IAggregatorV3
    /// @dev Reverts with NoAttestation before the first attestation (as Chainlink feeds revert without data).
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        ReserveAttestorStorage storage $ = _storage();
        roundId = $.latestRoundId;
        if (roundId == 0) revert NoAttestation();
        Round storage r = $.rounds[roundId];
        return (roundId, int256(r.totalQuantity), r.asOf, r.attestedAt, roundId);
    }

    // ---------------------------------------------------------------- internals

    function _checkShape(Attestation calldata a) private pure {
        if (a.reportHash == bytes32(0)) revert ZeroReportHash();
        if (a.totalQuantity > uint256(type(int256).max)) revert TotalQuantityTooLarge(a.totalQuantity);
        if (a.lotCount == 0) {
            // An empty reserve (everything redeemed) is attested with zero root, zero total, zero lots.
            if (a.merkleRoot != bytes32(0) || a.totalQuantity != 0) revert ZeroLotCount();
            return;
        }
        if (a.merkleRoot == bytes32(0)) revert ZeroMerkleRoot();
        if (a.totalQuantity == 0) revert ZeroTotalQuantity();
        if (a.lotCount > a.totalQuantity) revert LotCountExceedsTotal(a.lotCount, a.totalQuantity);
    }

    function _verify(bytes32 root, bytes32 leaf, bytes32[] calldata proof) private pure returns (bool) {
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    function _round(uint80 roundId) private view returns (Round storage r) {
        ReserveAttestorStorage storage $ = _storage();
        if (roundId == 0 || roundId > $.latestRoundId) revert UnknownRound(roundId);
        return $.rounds[roundId];
    }

    function _addAttestor(ReserveAttestorStorage storage $, address attestor) private {
        if (attestor == address(0)) revert ZeroAddress();
        if (!$.attestors.add(attestor)) revert AttestorAlreadyRegistered(attestor);
        emit AttestorAdded(attestor);
    }

    function _setQuorum(ReserveAttestorStorage storage $, uint256 newQuorum) private {
        _checkQuorum(newQuorum, $.attestors.length());
        emit QuorumChanged($.quorum, newQuorum);
        $.quorum = newQuorum;
    }

    /// @dev A quorum must be a strict majority of the attestors and at most their number.
    function _checkQuorum(uint256 q, uint256 count) private pure {
        if (q > count || q * 2 <= count) revert InvalidQuorum(q, count);
    }

    function _bumpConfig(ReserveAttestorStorage storage $) private {
        uint64 v = ++$.configVersion;
        emit ConfigChanged(v, _configDigest($));
    }

    function _configDigest(ReserveAttestorStorage storage $) private view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), $.configVersion));
    }

    function _isAttestor(address account) private view returns (bool) {
        return _storage().attestors.contains(account);
    }

    function _authorizeUpgrade(address) internal override onlyRole(UPGRADER_ROLE) {}

    function _storage() private pure returns (ReserveAttestorStorage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }
}
