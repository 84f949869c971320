// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IERC3009
/// @notice EIP-3009 "transfer with authorization": a holder signs (EIP-712) a transfer that anyone
///         may submit (or, for `receiveWithAuthorization`, only the payee), with a validity window and
///         a random 32-byte nonce used at most once. Same type hashes and names as Circle's FiatToken.
interface IERC3009 {
    /// @notice The authorization `nonce` of `authorizer` was used (a transfer was made with it).
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    /// @notice The authorization `nonce` of `authorizer` was cancelled before use.
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    /// @notice The authorization is not valid before `validAfter` (unix seconds).
    error AuthorizationNotYetValid(uint256 validAfter);
    /// @notice The authorization expired at `validBefore` (unix seconds).
    error AuthorizationExpired(uint256 validBefore);
    /// @notice `nonce` of `authorizer` was already used or cancelled.
    error AuthorizationAlreadyUsed(address authorizer, bytes32 nonce);
    /// @notice The signature is not `authorizer`'s over this authorization.
    error InvalidAuthorizationSignature(address authorizer);
    /// @notice `receiveWithAuthorization` called by `caller`, who is not the payee `payee`.
    error CallerNotPayee(address caller, address payee);

    /// @notice Moves `value` from `from` to `to` with `from`'s signed authorization (any submitter).
    /// @param from Payer, the signer.
    /// @param to Payee.
    /// @param value Amount in base units.
    /// @param validAfter Not valid at or before this time (unix seconds).
    /// @param validBefore Not valid at or after this time (unix seconds).
    /// @param nonce Unique 32-byte nonce chosen by the payer.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice As `transferWithAuthorization`, but only the payee `to` may submit it (no front-running).
    /// @param from Payer, the signer.
    /// @param to Payee, who must be the caller.
    /// @param value Amount in base units.
    /// @param validAfter Not valid at or before this time (unix seconds).
    /// @param validBefore Not valid at or after this time (unix seconds).
    /// @param nonce Unique 32-byte nonce chosen by the payer.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Cancels an unused authorization of `authorizer` (signed by `authorizer`).
    /// @param authorizer The payer whose authorization is cancelled.
    /// @param nonce Its nonce.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Whether `nonce` of `authorizer` was used or cancelled.
    /// @param authorizer The payer.
    /// @param nonce The nonce.
    /// @return True once used or cancelled.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
}
