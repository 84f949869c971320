// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IQuorumSignatures
/// @notice The signature format and the errors shared by every Stockpile contract that accepts a
///         message only when a quorum of registered keys signed it (PriceFeed reports, ReserveAttestor
///         attestations). One set of names: a client decodes these the same way from either contract.
/// @dev Every signed struct carries the contract's current `configDigest` (which changes whenever the
///      key set or the quorum changes) and a `deadline`, on top of the EIP-712 domain (chain id and
///      contract). The verifier is `contracts/signatures/QuorumSignatures.sol`.
interface IQuorumSignatures {
    /// @notice A compact (EIP-2098) secp256k1 signature: `vs` = yParity << 255 | s.
    struct Signature {
        bytes32 r;
        bytes32 vs;
    }

    /// @notice Fewer valid signatures (or observations) than required.
    /// @param signatures How many the message carries.
    /// @param needed How many the current configuration requires.
    error QuorumNotMet(uint256 signatures, uint256 needed);
    /// @notice A signature recovered to an address that is not the registered key it must come from
    ///         (also what a signature over other values, another chain or another contract produces).
    /// @param recovered The recovered address.
    error NotSigner(address recovered);
    /// @notice A signature is malformed or malleable (high s, zero r).
    /// @param index Position of the signature in the array.
    error InvalidSignature(uint256 index);
    /// @notice The same key signed twice.
    /// @param signer The repeated signer.
    error DuplicateSigner(address signer);
    /// @notice Signatures must be ordered by strictly ascending signer address.
    /// @param index Position of the first signature out of order.
    error SignersNotOrdered(uint256 index);
    /// @notice The message was signed under another configuration (key set, quorum) than the current one.
    /// @param signed The config digest the message carries.
    /// @param current The contract's current config digest.
    error ConfigDigestMismatch(bytes32 signed, bytes32 current);
    /// @notice The message's deadline has passed.
    /// @param deadline The signed deadline (unix seconds).
    /// @param blockTimestamp The current block time.
    error SignatureExpired(uint256 deadline, uint256 blockTimestamp);
    /// @notice The quorum is not a valid threshold for the key set.
    /// @param quorum The proposed threshold (PriceFeed: f; ReserveAttestor: signatures needed).
    /// @param signers The size of the key set.
    error InvalidQuorum(uint256 quorum, uint256 signers);

    /// @notice The current configuration digest every signed message must carry.
    /// @return The digest (changes on every key set or quorum change).
    function configDigest() external view returns (bytes32);
}
