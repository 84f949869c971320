"""The steps that realise a deployment file on a chain, in order.

Shared implementations (one CommodityToken with its CommodityTokenAuthorizations and one
ReserveAttestor implementation serve every product), a TimelockController holding UPGRADER_ROLE
and the tokens' GOVERNOR_ROLE, the Directory and the PriceFeed hub; then per product its
ReserveAttestor and CommodityToken proxies, the attestor bound to the token and set as its reserve
attestor, its price feed, roles, minter limits, allowlist mode and Directory entry. The deployer is
the initial admin of everything and the tokens' bootstrap governor so that it can configure;
``handover`` moves admin to the configured holders and renounces GOVERNOR_ROLE afterwards. Governed
steps (``governed=True``: granting a minter, setting its limit, the reserve attestor) that a later
run finds the deployer no longer entitled to go through the timelock (see ``Engine``).
"""

from __future__ import annotations

from typing import Any

from web3 import Web3

from stockpile.contracts import load
from stockpile.deploy.config import Basket, Deployment, Product
from stockpile.core.eth import ZERO_ADDRESS
from stockpile.core.units import to_units
from stockpile.deploy.engine import ApplyContext, CallStep, DeploymentError, DeployStep, Step


TOKEN_ROLES = {
    "minters": "MINTER_ROLE",
    "redemption_operators": "REDEMPTION_OPERATOR_ROLE",
    "asset_protection": "ASSET_PROTECTION_ROLE",
    "pausers": "PAUSER_ROLE",
    "compliance": "COMPLIANCE_ROLE",
}


def role_id(name: str) -> bytes:
    return Web3.keccak(text=name)


def feed_id(product_code: str) -> bytes:
    """The PriceFeed hub's id of a product's default USD feed, "<product_code>/USD" (e.g. "NDPR-OXIDE/USD")."""
    return symbol_feed_id(f"{product_code}/USD")


def symbol_feed_id(feed_symbol: str) -> bytes:
    """The PriceFeed hub's id of a feed symbol (``feed.symbol`` of the deployment file, the feeder's symbol)."""
    from stockpile.oracle.report import feed_id as _feed_id

    return _feed_id(feed_symbol)


def _encode_init(artifact: str, args: list[Any]) -> bytes:
    contract = Web3().eth.contract(abi=load(artifact).abi)
    return bytes.fromhex(contract.encode_abi("initialize", args=args)[2:])


def _has_role(target_artifact: str, target: str, role: str, account: str):
    def check(ctx: ApplyContext) -> bool:
        return ctx.contract(target, target_artifact).functions.hasRole(role_id(role), account).call()
    return check


def _recorded(key: str):
    def check(ctx: ApplyContext) -> bool:
        return key in ctx.manifest.actions
    return check


def product_steps(dep: Deployment, p: Product) -> list[Step]:
    s = p.symbol
    roles = dep.roles
    steps: list[Step] = [
        DeployStep(
            key=f"{s}.attestor", contract="StockpileProxy", description=f"{s}: ReserveAttestor proxy",
            args=lambda ctx, p=p: [ctx.address("attestor-impl"), _encode_init("ReserveAttestor", [
                p.product_code, p.decimals, list(dep.attestors.signers), dep.attestors.quorum,
                ctx.sender_address, roles.admin_transfer_delay, ctx.address("timelock")])]),
        DeployStep(
            key=f"{s}.token", contract="StockpileProxy", description=f"{s}: CommodityToken proxy",
            args=lambda ctx, p=p: [ctx.address("token-impl"), _encode_init("CommodityToken", [(
                p.name, p.symbol, p.decimals, p.product_code, p.unit, ctx.sender_address,
                roles.admin_transfer_delay, ctx.address("timelock"), ctx.sender_address, ZERO_ADDRESS,
                p.max_attestation_age, p.to_units(p.min_redemption))])]),
        CallStep(
            key=f"{s}.attestor-binding", target=f"{s}.attestor", contract="ReserveAttestor", function="bindToken",
            args=lambda ctx, s=s: [ctx.address(f"{s}.token")],
            done=lambda ctx, s=s: ctx.contract(f"{s}.attestor", "ReserveAttestor").functions.token().call()
            == ctx.address(f"{s}.token"),
            description=f"{s}: bind the ReserveAttestor to its token"),
        CallStep(
            key=f"{s}.reserve-attestor", target=f"{s}.token", contract="CommodityToken", function="setReserveAttestor",
            args=lambda ctx, s=s: [ctx.address(f"{s}.attestor")],
            done=lambda ctx, s=s: ctx.contract(f"{s}.token", "CommodityToken").functions.reserveAttestor().call()
            == ctx.address(f"{s}.attestor"),
            governed=True, description=f"{s}: reserve attestor of the token"),
    ]
    for field, role in TOKEN_ROLES.items():
        for holder in getattr(roles, field):
            steps.append(CallStep(
                key=f"{s}.role.{role}.{holder}", target=f"{s}.token", contract="CommodityToken", function="grantRole",
                args=lambda ctx, role=role, holder=holder: [role_id(role), holder],
                done=_has_role("CommodityToken", f"{s}.token", role, holder),
                governed=role == "MINTER_ROLE", description=f"{s}: grant {role} to {holder}"))
    for minter in roles.minters:
        key = f"{s}.minter-limit.{minter}"
        steps.append(CallStep(
            key=key, target=f"{s}.token", contract="CommodityToken", function="setMinterLimit",
            args=lambda ctx, p=p, minter=minter: [minter, p.to_units(p.mint_limits.capacity),
                                                   p.to_units(p.mint_limits.refill_per_second)],
            done=_recorded(key), governed=True, description=f"{s}: minter limit of {minter}"))
    if p.allowlist:
        steps.append(CallStep(
            key=f"{s}.allowlist-mode", target=f"{s}.token", contract="CommodityToken", function="setAllowlistMode",
            args=lambda ctx: [True], done=lambda ctx, s=s: ctx.contract(f"{s}.token", "CommodityToken").functions.allowlistMode().call(),
            description=f"{s}: allowlist mode on"))
        # COMPLIANCE needs itself on the list? No: the deployer grants the role only; holders are listed later.
    if p.feed is not None:
        f = p.feed
        steps.append(CallStep(
            key=f"{s}.feed", target="price-feed", contract="PriceFeed", function="addFeed",
            args=lambda ctx, c=p.feed_symbol, f=f: [symbol_feed_id(c), f.decimals, f.description, to_units(f.min_answer, f.decimals),
                                        to_units(f.max_answer, f.decimals), f.heartbeat, f.report_age],
            done=lambda ctx, c=p.feed_symbol: int(ctx.contract("price-feed", "PriceFeed").functions.adapterOf(symbol_feed_id(c)).call(), 16) != 0,
            description=f"{s}: price feed {f.description}"))

    def feed_adapter(ctx: ApplyContext, c=p.feed_symbol) -> str:
        if c is None:
            return ZERO_ADDRESS
        return ctx.contract("price-feed", "PriceFeed").functions.adapterOf(symbol_feed_id(c)).call()

    steps.append(CallStep(
        key=f"{s}.directory", target="directory", contract="Directory", function="register",
        args=lambda ctx, s=s: [s, ctx.address(f"{s}.token"), feed_adapter(ctx), ctx.address(f"{s}.attestor")],
        done=lambda ctx, s=s: ctx.contract("directory", "Directory").functions.contains(s).call(),
        description=f"{s}: register in the Directory"))
    return steps


def deployment_steps(dep: Deployment) -> list[Step]:
    steps: list[Step] = [
        DeployStep(key="timelock", contract="StockpileTimelock",
                   description="TimelockController (upgrades, governed token changes)",
                   args=lambda ctx: [dep.timelock.delay, list(dep.timelock.proposers), list(dep.timelock.executors), ZERO_ADDRESS]),
        DeployStep(key="directory", contract="Directory", description="Directory",
                   args=lambda ctx: [ctx.sender_address]),
        DeployStep(key="token-authorizations", contract="CommodityTokenAuthorizations",
                   description="CommodityTokenAuthorizations (EIP-3009 code of the token implementation)"),
        DeployStep(key="token-impl", contract="CommodityToken", description="CommodityToken implementation",
                   args=lambda ctx: [ctx.address("token-authorizations")]),
        DeployStep(key="attestor-impl", contract="ReserveAttestor", description="ReserveAttestor implementation"),
    ]
    if dep.oracle is not None:
        oracle = dep.oracle  # a name for the lambda: mypy does not narrow an attribute inside it
        signers = sorted(oracle.signers, key=lambda a: int(a, 16))
        steps.append(DeployStep(key="price-feed", contract="PriceFeed", description="PriceFeed hub",
                                args=lambda ctx: [ctx.sender_address, dep.roles.admin_transfer_delay, ctx.sender_address,
                                                  signers, oracle.f]))
    for p in dep.products:
        steps.extend(product_steps(dep, p))
    if dep.baskets:
        steps.append(DeployStep(key="basket-impl", contract="BasketToken", description="BasketToken implementation"))
        for b in dep.baskets:
            steps.extend(basket_steps(dep, b))
    return steps


BASKET_ROLES = {"asset_protection": "ASSET_PROTECTION_ROLE", "pausers": "PAUSER_ROLE", "compliance": "COMPLIANCE_ROLE"}


def basket_steps(dep: Deployment, b: Basket) -> list[Step]:
    """A BasketToken proxy (UPGRADER_ROLE: the timelock) over the file's product tokens, its NAV feed, its
    roles (asset protection, pausers, compliance as for the tokens), its allowlist mode, and the basket
    listed as an allowed holder of every component in allowlist mode."""
    s = b.symbol
    key = f"baskets.{s}"
    roles = dep.roles
    products = [dep.product(c.product) for c in b.composition]

    def components(ctx: ApplyContext) -> list[tuple]:
        out = []
        for c, p in zip(b.composition, products):
            feed = ZERO_ADDRESS
            if p.feed_symbol is not None:
                feed = ctx.contract("price-feed", "PriceFeed").functions.adapterOf(symbol_feed_id(p.feed_symbol)).call()
            heartbeat = c.heartbeat or (p.feed.heartbeat if p.feed else 0)
            out.append((ctx.address(f"{p.symbol}.token"), b.units(c, p), feed, heartbeat))
        return out

    steps: list[Step] = [
        DeployStep(
            key=key, contract="StockpileProxy", description=f"basket {s}: BasketToken proxy",
            args=lambda ctx: [ctx.address("basket-impl"), _encode_init("BasketToken", [(
                b.name, b.symbol, b.decimals, ctx.sender_address, roles.admin_transfer_delay,
                ctx.address("timelock"), components(ctx))])]),
        DeployStep(key=f"{key}.nav", contract="BasketNavFeed", description=f"basket {s}: NAV feed (AggregatorV3)",
                   args=lambda ctx: [ctx.address(key)]),
    ]
    for field, role in BASKET_ROLES.items():
        for holder in getattr(roles, field):
            steps.append(CallStep(
                key=f"{key}.role.{role}.{holder}", target=key, contract="BasketToken", function="grantRole",
                args=lambda ctx, role=role, holder=holder: [role_id(role), holder],
                done=_has_role("BasketToken", key, role, holder), description=f"basket {s}: grant {role} to {holder}"))
    if b.allowlist:
        steps.append(CallStep(
            key=f"{key}.allowlist-mode", target=key, contract="BasketToken", function="setAllowlistMode",
            args=lambda ctx: [True], done=lambda ctx: ctx.contract(key, "BasketToken").functions.allowlistMode().call(),
            description=f"basket {s}: allowlist mode on"))
    for p in products:
        if not p.allowlist:
            continue
        tok = f"{p.symbol}.token"
        # Uses the deployer's COMPLIANCE_ROLE on the token, as the product's own allowlist-mode step does.
        steps.append(CallStep(
            key=f"{key}.allow.{p.symbol}", target=tok, contract="CommodityToken", function="setAllowlisted",
            args=lambda ctx: [ctx.address(key), True],
            done=lambda ctx, tok=tok: ctx.contract(tok, "CommodityToken").functions.isAllowlisted(ctx.address(key)).call(),
            description=f"basket {s}: allowlist the basket as a holder of {p.symbol}"))
    steps.append(CallStep(
        key=f"{key}.directory", target="directory", contract="Directory", function="registerBasket",
        args=lambda ctx: [s, ctx.address(key), ctx.address(f"{key}.nav")],
        done=lambda ctx: _basket_registered(ctx, s), description=f"basket {s}: register in the Directory"))
    return steps


def _basket_registered(ctx: ApplyContext, symbol: str) -> bool:
    """Whether the Directory lists basket ``symbol``; a Directory deployed before it had a basket list (it is
    not upgradeable) is named, with what to do, instead of failing on a revert."""
    from web3.exceptions import BadFunctionCallOutput, ContractLogicError

    directory = ctx.contract("directory", "Directory")
    try:
        return bool(directory.functions.containsBasket(symbol).call())
    except (ContractLogicError, BadFunctionCallOutput) as exc:
        raise DeploymentError(
            f"the Directory at {directory.address} has no basket list (deployed before baskets were registered "
            "there; a Directory is not upgradeable): deploy a new one (remove `directory` and its `.directory` "
            f"actions from the manifest and apply again), or find basket {symbol} from the manifest") from exc
