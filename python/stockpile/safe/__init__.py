"""Operating through a Safe multisig: proposals (Transaction Builder batch files with the SafeTx
hash), owner signatures, execution once the threshold is met. See README.md in this folder.

    prop = new_proposal(w3, safe, [call_from_function(token.functions.mint(to, amount, mint_id))])
    prop.save("mint.json")                       # owners sign it one after the other:
    prop = Proposal.load("mint.json"); sign(w3, prop, owner); prop.save("mint.json")
    execute(w3, Proposal.load("mint.json"), Sender(w3, anyone))
"""

from stockpile.safe.calls import Call, CallError, call_from_args, call_from_function, find_function, parse_signature
from stockpile.safe.contracts import (SAFE_VERSION, SafeInfo, SafeSingletons, canonical_multisend, create_safe,
                                      deploy_safe_singletons, safe_contract, safe_info)
from stockpile.safe.errors import BelowThreshold, NotAnOwner, ProposalFileError, SafeError
from stockpile.safe.proposal import Proposal, SafeTx, builder_checksum, multisend_data
from stockpile.safe.workflow import check_against_chain, execute, new_proposal, sign

__all__ = [
    "SAFE_VERSION", "BelowThreshold", "Call", "CallError", "NotAnOwner", "Proposal", "ProposalFileError", "SafeError",
    "SafeInfo", "SafeSingletons", "SafeTx", "builder_checksum", "call_from_args", "call_from_function",
    "canonical_multisend", "check_against_chain", "create_safe", "deploy_safe_singletons", "execute", "find_function",
    "multisend_data", "new_proposal", "parse_signature", "safe_contract", "safe_info", "sign",
]
