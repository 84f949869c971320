// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title IERC7943Fungible
/// @notice ERC-7943 (uRWA) interface for ERC-20 based real-world-asset tokens: transfer
///         eligibility checks, frozen amounts and forced transfers.
interface IERC7943Fungible is IERC165 {
    /// @notice Emitted when tokens are taken from one address and transferred to another.
    event ForcedTransfer(address indexed from, address indexed to, uint256 amount);

    /// @notice Emitted when the frozen amount of `account` changed; `amount` is the value after the change.
    event Frozen(address indexed account, uint256 amount);

    /// @notice The account may not send tokens.
    error ERC7943CannotSend(address account);

    /// @notice The account may not receive tokens.
    error ERC7943CannotReceive(address account);

    /// @notice The transfer is not allowed by the token's rules.
    error ERC7943CannotTransfer(address from, address to, uint256 amount);

    /// @notice `amount` is within the balance of `account` but above its unfrozen part.
    error ERC7943InsufficientUnfrozenBalance(address account, uint256 amount, uint256 unfrozen);

    /// @notice Takes `amount` from `from` and gives it to `to` (regulatory enforcement, recovery).
    /// @return result True on success; reverts on failure.
    function forcedTransfer(address from, address to, uint256 amount) external returns (bool result);

    /// @notice Sets (overwrites) the frozen amount of `account`; it may exceed the balance.
    /// @return result True on success; reverts on failure.
    function setFrozenTokens(address account, uint256 amount) external returns (bool result);

    /// @notice Whether `account` may send tokens under the token's rules.
    function canSend(address account) external view returns (bool allowed);

    /// @notice Whether `account` may receive tokens under the token's rules.
    function canReceive(address account) external view returns (bool allowed);

    /// @notice The amount of tokens currently frozen for `account` (may exceed its balance).
    function getFrozenTokens(address account) external view returns (uint256 amount);

    /// @notice Whether a transfer of `amount` from `from` to `to` would currently succeed under the token's rules.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool allowed);
}
