// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IAggregatorV3} from "../interfaces/IAggregatorV3.sol";
import {IBasketToken} from "../interfaces/IBasketToken.sol";

/// @title BasketNavFeed
/// @notice The NAV per whole share of one BasketToken, readable through Chainlink's AggregatorV3Interface (IAggregatorV3) at
///         its own address (the basket's own `decimals()` is the share's ERC-20 decimals, so the feed lives
///         apart, as PriceFeedAdapter does for a product). The composition, each component's price feed and
///         its heartbeat are read from the basket (set there through the timelock).
///
///         answer = NAV of one whole basket token (10^basket.decimals() shares) in USD with 8 decimals:
///           floor( sum_i units_i * 10^bd * answer_i * 10^8 / 10^(td_i + fd_i) )
///         (units_i component base units per share, answer_i the component feed's answer with fd_i decimals,
///         in USD per whole component token of td_i decimals), summed exactly over a common denominator and
///         rounded down once.
///
///         `latestRoundData` reverts naming the component when a component price is missing (no feed, no
///         round, the feed reverts), not positive, or older than its heartbeat (`ComponentPriceMissing`,
///         `ComponentPriceInvalid`, `ComponentPriceStale` of IBasketToken), so a consumer never reads a NAV
///         built on a stale price. Round fields: roundId = the newest component updatedAt (grows whenever a
///         component gets a newer price), startedAt = updatedAt = the oldest component updatedAt (the NAV is
///         as old as its stalest input), answeredInRound = roundId. No history is kept: `getRoundData` serves
///         the latest round id only (else `RoundNotAvailable(roundId)`); a past NAV is recomputed off chain
///         from the component feeds' own `getRoundData`.
contract BasketNavFeed is IAggregatorV3 {
    /// @notice Decimals of the NAV answer.
    uint8 public constant NAV_DECIMALS = 8;

    /// @notice The basket whose NAV this feed serves.
    IBasketToken public immutable basket;

    /// @notice Bind the feed to a basket.
    /// @param basket_ The basket (its proxy address).
    constructor(IBasketToken basket_) {
        basket = basket_;
    }

    /// @notice Decimals of the answer (8).
    /// @return The decimals.
    function decimals() external pure returns (uint8) {
        return NAV_DECIMALS;
    }

    /// @notice "<basket symbol> NAV / USD per share".
    /// @return The description.
    function description() external view returns (string memory) {
        return string.concat(IERC20Metadata(address(basket)).symbol(), " NAV / USD per share");
    }

    /// @notice Version of this feed implementation.
    /// @return 1.
    function version() external pure returns (uint256) {
        return 1;
    }

    /// @notice The latest round if `_roundId` is its id; reverts `RoundNotAvailable(_roundId)` otherwise.
    /// @param _roundId The round asked for.
    /// @return roundId Round id.
    /// @return answer NAV per whole share.
    /// @return startedAt Oldest component update time.
    /// @return updatedAt Oldest component update time.
    /// @return answeredInRound Equal to roundId.
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (roundId, answer, startedAt, updatedAt, answeredInRound) = latestRoundData();
        if (_roundId != roundId) revert IBasketToken.RoundNotAvailable(_roundId);
    }

    /// @notice The NAV now (see the contract notice for the round fields and refusals).
    /// @return roundId Round id.
    /// @return answer NAV per whole share.
    /// @return startedAt Oldest component update time.
    /// @return updatedAt Oldest component update time.
    /// @return answeredInRound Equal to roundId.
    function latestRoundData()
        public
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (uint256 nav, uint256 oldest, uint256 newest) = navPerShare();
        roundId = uint80(newest);
        return (roundId, int256(nav), oldest, oldest, roundId);
    }

    /// @notice NAV per whole share and the oldest and newest component update times.
    /// @return nav USD per whole basket token, 8 decimals, rounded down once.
    /// @return oldest The oldest updatedAt among the component prices.
    /// @return newest The newest updatedAt among the component prices.
    function navPerShare() public view returns (uint256 nav, uint256 oldest, uint256 newest) {
        IBasketToken.Component[] memory cs = basket.composition();
        // slither-disable-next-line uninitialized-local - the running maximum starts at zero on purpose (Solidity zero-initialises locals)
        uint256 maxExp;
        for (uint256 i; i < cs.length; ++i) {
            uint256 e = uint256(cs[i].tokenDecimals) + cs[i].feedDecimals;
            if (e > maxExp) maxExp = e;
        }
        // slither-disable-next-line uninitialized-local - the running sum starts at zero on purpose (Solidity zero-initialises locals)
        uint256 numerator;
        oldest = type(uint256).max;
        for (uint256 i; i < cs.length; ++i) {
            (uint256 price, uint256 at) = _price(cs[i]);
            if (at < oldest) oldest = at;
            if (at > newest) newest = at;
            numerator += cs[i].units * price * 10 ** (maxExp - cs[i].tokenDecimals - cs[i].feedDecimals);
        }
        uint256 shareDecimals = IERC20Metadata(address(basket)).decimals();
        nav = Math.mulDiv(numerator, 10 ** (shareDecimals + NAV_DECIMALS), 10 ** maxExp);
    }

    function _price(IBasketToken.Component memory c) private view returns (uint256 price, uint256 updatedAt) {
        if (c.priceFeed == address(0)) revert IBasketToken.ComponentPriceMissing(c.token);
        // slither-disable-next-line uninitialized-local - set by the try branch; the catch branch reverts
        int256 answer;
        // slither-disable-next-line unused-return - roundId, startedAt and answeredInRound are not needed: updatedAt and the heartbeat decide staleness
        try IAggregatorV3(c.priceFeed).latestRoundData() returns (uint80, int256 a, uint256, uint256 u, uint80) {
            (answer, updatedAt) = (a, u);
        } catch {
            revert IBasketToken.ComponentPriceMissing(c.token);
        }
        if (updatedAt == 0) revert IBasketToken.ComponentPriceMissing(c.token);
        if (answer <= 0) revert IBasketToken.ComponentPriceInvalid(c.token, answer);
        if (block.timestamp > updatedAt && block.timestamp - updatedAt > c.heartbeat) {
            revert IBasketToken.ComponentPriceStale(c.token, updatedAt, c.heartbeat);
        }
        price = uint256(answer);
    }
}
