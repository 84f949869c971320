// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IQuorumSignatures} from "../interfaces/IQuorumSignatures.sol";

/// @title QuorumSignatures
/// @notice The one quorum-signature verifier of Stockpile, used by PriceFeed and ReserveAttestor:
///         compact-signature recovery (low s only), signer ordering, quorum, config digest and
///         deadline checks, all reverting with the errors of {IQuorumSignatures}.
library QuorumSignatures {
    /// @notice Recover the signer of `digest` from a compact signature.
    /// @param digest The EIP-712 digest.
    /// @param sig The signature.
    /// @param index Its position (reported by `InvalidSignature`).
    /// @return signer The recovered address (never zero).
    function recover(bytes32 digest, IQuorumSignatures.Signature calldata sig, uint256 index)
        internal
        pure
        returns (address signer)
    {
        ECDSA.RecoverError status;
        // slither-disable-next-line unused-return - the third value only details `status`, which is checked next
        (signer, status,) = ECDSA.tryRecover(digest, sig.r, sig.vs);
        if (status != ECDSA.RecoverError.NoError) revert IQuorumSignatures.InvalidSignature(index);
    }

    /// @notice Recover every signature of `digest`: each must come from a member, in strictly
    ///         ascending signer address order (so each member counts once), at least `needed` of them.
    /// @param digest The EIP-712 digest.
    /// @param sigs The signatures, ordered by signer address.
    /// @param needed The quorum.
    /// @param isMember Whether an address is a registered key (checked before the order, so a
    ///        signature over other values reports the unrelated address it recovers to).
    function verifyAscending(
        bytes32 digest,
        IQuorumSignatures.Signature[] calldata sigs,
        uint256 needed,
        function(address) view returns (bool) isMember
    ) internal view {
        uint256 n = sigs.length;
        if (n < needed) revert IQuorumSignatures.QuorumNotMet(n, needed);
        // slither-disable-next-line uninitialized-local - starts at address(0), below every signer, on purpose (Solidity zero-initialises locals)
        address previous;
        for (uint256 i; i < n; ++i) {
            address signer = recover(digest, sigs[i], i);
            if (!isMember(signer)) revert IQuorumSignatures.NotSigner(signer);
            if (signer <= previous) {
                if (signer == previous) revert IQuorumSignatures.DuplicateSigner(signer);
                revert IQuorumSignatures.SignersNotOrdered(i);
            }
            previous = signer;
        }
    }

    /// @notice Refuse a message signed under another configuration.
    /// @param signed The digest the message carries.
    /// @param current The contract's current digest.
    function checkConfig(bytes32 signed, bytes32 current) internal pure {
        if (signed != current) revert IQuorumSignatures.ConfigDigestMismatch(signed, current);
    }

    /// @notice Refuse a message whose deadline has passed.
    /// @param deadline The signed deadline (unix seconds).
    function checkDeadline(uint256 deadline) internal view {
        if (block.timestamp > deadline) revert IQuorumSignatures.SignatureExpired(deadline, block.timestamp);
    }
}
