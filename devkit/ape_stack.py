"""Test helpers for the token stack on ape's in-process network (tests/token, tests/upgrades, tests/basket).

Functions take ape's ``project``/accounts objects; nothing here imports ape.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_utils import keccak

from devkit.devnet import sign_attestation, token_init_params

UNIT = 10**18
RESERVE = 1_000_000 * UNIT
MAX_AGE = 7 * 86_400
MIN_REDEMPTION = 5 * UNIT
TIMELOCK_DELAY = 3_600
ATTESTOR_KEYS = ["0x" + keccak(text=f"stockpile test attestor {i}").hex() for i in range(5)]
ZERO_ADDRESS = "0x" + "00" * 20
SYMBOL, PRODUCT_CODE, TOKEN_NAME = "NDPR", "NDPR-OX-995", "Stockpile NdPr Oxide"
UNIT_DESCRIPTION = "NdPr oxide, 1 kg, 99.5%"


def mint_id(label: str) -> bytes:
    return keccak(text=f"mint:{label}")


@dataclass
class Stack:
    token: object
    attestor: object
    timelock: object
    admin: object
    minter: object
    operator: object
    protector: object
    pauser: object
    compliance: object
    alice: object
    bob: object
    carol: object
    stranger: object


class Attest:
    """Sign (EIP-712, eth-account) and submit attestations to the real ReserveAttestor."""

    def __init__(self, attestor, chain, sender, project_chain_id: int):
        self.attestor, self.chain, self.sender, self.chain_id = attestor, chain, sender, project_chain_id
        self.count = 0

    def __call__(self, total: int, as_of: int | None = None, lots: int = 10):
        self.count += 1
        if as_of is None:
            as_of = self.chain.pending_timestamp - 1
        att = {"merkleRoot": keccak(text=f"root {self.count}") if lots else b"\0" * 32,
               "totalQuantity": total, "lotCount": lots, "asOf": as_of,
               "reportHash": keccak(text=f"report {self.count}")}
        args = sign_attestation(ATTESTOR_KEYS[:3], self.chain_id, self.attestor.address, att,
                                bytes(self.attestor.configDigest()))
        return self.attestor.attest(*args, sender=self.sender)


def deploy_implementation(project, deployer, contract: str = "CommodityToken"):
    """CommodityTokenAuthorizations (EIP-3009 code) and a token implementation (`contract`) using it."""
    from devkit.contracts import ape_container, dev_contract

    auth = deployer.deploy(project.CommodityTokenAuthorizations)
    container = ape_container(contract) if dev_contract(contract) else getattr(project, contract)
    return deployer.deploy(container, auth.address)


def deploy_token(project, admin, timelock, attestor=ZERO_ADDRESS, bind: bool = True, **overrides):
    """A CommodityToken proxy; `admin` is DEFAULT_ADMIN and bootstrap governor (unless overridden). With an
    `attestor` (admin of it: `admin`) and `bind`, the attestor is bound to the token and set as its reserve
    attestor, as a first deployment does."""
    impl = deploy_implementation(project, admin)
    params = token_init_params(**{
        "name": TOKEN_NAME, "symbol": SYMBOL, "decimals": 18, "product_code": PRODUCT_CODE,
        "unit_description": UNIT_DESCRIPTION, "admin": admin.address, "admin_transfer_delay": 86_400,
        "timelock": timelock, "bootstrap_governor": admin.address, "max_attestation_age": MAX_AGE,
        "minimum_redemption": MIN_REDEMPTION, **overrides,
    })
    data = impl.initialize.encode_input(params)
    proxy = admin.deploy(project.StockpileProxy, impl.address, data)
    token = project.CommodityToken.at(proxy.address)
    if attestor != ZERO_ADDRESS and bind:
        project.ReserveAttestor.at(attestor).bindToken(token.address, sender=admin)
        token.setReserveAttestor(attestor, sender=admin)
    return token


def with_authorizations(project, token):
    """The token at the same address with the EIP-3009 functions, events and errors (IERC3009, served by
    the token's fallback) added to its ABI."""
    import ape
    from ethpm_types import ContractType

    from devkit.devnet import EIP3009_NAMES

    abi = list(project.CommodityToken.contract_type.abi)
    abi += [a for a in project.CommodityTokenAuthorizations.contract_type.abi if getattr(a, "name", None) in EIP3009_NAMES]
    return ape.Contract(token.address, contract_type=ContractType(contractName="CommodityToken", abi=abi))


def deploy_attestor(project, admin, timelock, product_code: str = "NDPR-OX-995", decimals: int = 18, quorum: int = 3):
    """A ReserveAttestor proxy with the 5 test attestors."""
    att_impl = admin.deploy(project.ReserveAttestor)
    att_data = att_impl.initialize.encode_input(
        product_code, decimals, [Account.from_key(k).address for k in ATTESTOR_KEYS], quorum, admin.address, 86_400,
        timelock,
    )
    return project.ReserveAttestor.at(admin.deploy(project.StockpileProxy, att_impl.address, att_data).address)


class Timelocked:
    """Schedule a call through the TimelockController, wait out its delay, execute it (what GOVERNOR_ROLE and
    UPGRADER_ROLE changes take on a real network). `proposer` proposes and executes."""

    def __init__(self, timelock, chain, proposer):
        self.timelock, self.chain, self.proposer = timelock, chain, proposer
        self.count = 0

    def schedule(self, target, data: bytes):
        self.count += 1
        salt = keccak(text=f"timelocked {self.count}")
        delay = self.timelock.getMinDelay()
        receipt = self.timelock.schedule(target, 0, data, b"\0" * 32, salt, delay, sender=self.proposer)
        return salt, receipt

    def execute(self, target, data: bytes, salt: bytes):
        return self.timelock.execute(target, 0, data, b"\0" * 32, salt, sender=self.proposer)

    def call(self, method, *args):
        """Run an ape contract method (e.g. ``token.setMinterLimit``) through the timelock."""
        return self(method.contract.address, method.encode_input(*args))

    def __call__(self, target, data: bytes):
        """Schedule, wait the delay, execute; returns the execute receipt."""
        salt, _ = self.schedule(target, data)
        self.chain.pending_timestamp += self.timelock.getMinDelay() + 1
        return self.execute(target, data, salt)


def _tell_ape(project, chain, live) -> None:
    """Record what the engine deployed (through web3, not through ape) in ape's contract cache: ape
    caches types and proxy targets per address, and a chain reverted by its test isolation reuses
    addresses, so a type cached for another module's contract would be used for ours."""
    for rec in live.manifest.contracts.values():
        address = chain.provider.network.ecosystem.decode_address(int(rec.address, 16))
        del chain.contracts[address]
        chain.contracts[address] = getattr(project, rec.contract).contract_type


def build_stack(project, accounts, chain) -> Stack:
    """Timelock (admin proposes and executes, TIMELOCK_DELAY), ReserveAttestor (5 attestors, quorum 3) bound to
    a CommodityToken behind proxies, roles on accounts[1..5], a minter bucket: a deployment model applied by the
    deploy engine (``devkit.stack``) over ape's in-process chain; then a first attestation of RESERVE.
    Afterwards the admin holds DEFAULT_ADMIN_ROLE but not GOVERNOR_ROLE (timelock only)."""
    from devkit import stack as engine_stack

    admin, minter, operator, protector, pauser, compliance, alice, bob, carol, stranger = accounts[:10]
    dep = engine_stack.deployment(
        admin.address, [Account.from_key(k).address for k in ATTESTOR_KEYS], 3,
        [engine_stack.product(SYMBOL, PRODUCT_CODE, name=TOKEN_NAME, unit=UNIT_DESCRIPTION, min_redemption=MIN_REDEMPTION // UNIT,
                              max_attestation_age=MAX_AGE, mint_capacity=100_000, refill_per_second=10)],
        timelock_delay=TIMELOCK_DELAY,
        roles={"minters": [minter.address], "redemption_operators": [operator.address],
               "asset_protection": [protector.address], "pausers": [pauser.address], "compliance": [compliance.address]})
    live = engine_stack.apply(chain.provider.web3, admin.private_key, dep)
    _tell_ape(project, chain, live)
    token = project.CommodityToken.at(live.address(f"{SYMBOL}.token"))
    attestor = project.ReserveAttestor.at(live.address(f"{SYMBOL}.attestor"))
    timelock = project.StockpileTimelock.at(live.address("timelock"))
    # First configuration done: the deployer (here the admin) gives up GOVERNOR_ROLE, which only the
    # timelock keeps, as `stockpile deploy handover` does.
    token.renounceRole(token.GOVERNOR_ROLE(), admin, sender=admin)
    s = Stack(token, attestor, timelock, admin, minter, operator, protector, pauser, compliance, alice, bob,
              carol, stranger)
    Attest(attestor, chain, admin, chain.chain_id)(RESERVE)
    return s


class Views:
    """Many view calls of ape contracts in ONE ``eth_call``, through Multicall3 (ape's copy of the canonical
    runtime code) deployed on the in-process chain, whose provider has no ``set_code``. The same views of the
    same contracts are called as by ``contract.view(*args)``; a read that reverts fails the whole batch.

    ape spends ~13 ms of CPU per view call (a state machine reading ~30 values a step spends most of its time
    there); one batch of 30 costs about one call. Results are decoded by ape's ecosystem, as ape's own calls are.
    """

    def __init__(self, deployer, chain):
        import ape
        from ape_ethereum.multicall.constants import MULTICALL3_CODE, MULTICALL3_CONTRACT_TYPE
        from ethpm_types import ContractType

        code = bytes(MULTICALL3_CODE)
        # init code: copy the runtime code after these 12 bytes to memory and return it
        init = bytes([0x61]) + len(code).to_bytes(2, "big") + bytes.fromhex("80600c6000396000f3") + code
        ct = ContractType.model_validate({**MULTICALL3_CONTRACT_TYPE, "contractName": "Multicall3",
                                          "deploymentBytecode": {"bytecode": "0x" + init.hex()}})
        self.multicall = deployer.deploy(ape.contracts.ContractContainer(ct))
        self.chain, self.sender = chain, deployer.address

    def prepare(self, reads):
        """reads: ``(contract.view, *args)`` tuples -> a reusable batch (calldata encoded once)."""
        abis, calls = [], []
        for method, *args in reads:
            abi = next(a for a in method.abis if len(a.inputs) == len(args))
            abis.append(abi)
            calls.append((method.contract.address, False, bytes(method.encode_input(*args))))
        data = bytes(self.multicall.aggregate3.encode_input(calls))
        return abis, data

    def __call__(self, batch_or_reads):
        """The values, in order (a view with one output: its value; several: a tuple), at the latest block."""
        from eth_abi import decode

        abis, data = batch_or_reads if isinstance(batch_or_reads, tuple) else self.prepare(batch_or_reads)
        raw = self.chain.provider.web3.eth.call({"from": self.sender, "to": self.multicall.address, "data": data})
        (results,) = decode(["(bool,bytes)[]"], raw)
        ecosystem = self.chain.provider.network.ecosystem
        out = []
        for abi, (_success, ret) in zip(abis, results, strict=True):
            values = ecosystem.decode_returndata(abi, ret)
            out.append(values[0] if len(values) == 1 else tuple(values))
        return out
