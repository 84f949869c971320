// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IBasketComponent
/// @notice The views of a Stockpile CommodityToken a BasketToken relies on: ERC-20, ERC-7943 `canTransfer`
///         and `getFrozenTokens`, pause and allowlist views (nothing else, so token upgrades stay compatible).
interface IBasketComponent is IERC20 {
    /// @notice Whether the token is paused.
    /// @return Whether it is paused.
    function paused() external view returns (bool);

    /// @notice Frozen amount of `account` (type(uint256).max for a whole-address freeze).
    /// @param account The holder.
    /// @return The frozen amount.
    function getFrozenTokens(address account) external view returns (uint256);

    /// @notice ERC-7943: whether `amount` may move from `from` to `to` under the token's rules.
    /// @param from Sender.
    /// @param to Receiver.
    /// @param amount Base units.
    /// @return Whether the transfer is allowed.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool);

    /// @notice Whether allowlist mode is on.
    /// @return Whether it is on.
    function allowlistMode() external view returns (bool);

    /// @notice Whether `account` is on the allowlist.
    /// @param account The account.
    /// @return Whether it is listed.
    function isAllowlisted(address account) external view returns (bool);
}
