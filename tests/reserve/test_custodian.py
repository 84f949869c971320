"""The custodian attestor core (no transport): it signs only what its own custody records give,
refuses everything else with a reason, and never signs two different attestations for one as-of.
Real eth-account signatures, real ingest into SQLite."""

from __future__ import annotations

import threading
import time

import pytest

from stockpile.reserve.custodian import (
    AttestationRequest,
    CustodianAttestor,
    CustodyRecords,
    ProductTarget,
    Refused,
    SignedLog,
)
from stockpile.reserve.models import Attestation, report_hash
from stockpile.reserve.signing import recover_signer

from custodian_helpers import (
    ATTESTORS,
    PRODUCT,
    copy_folder,
    custody_folder,
    expected_attestation,
    reserve_lots,
    tamper_quantity,
)

CHAIN_ID = 31337
CONTRACT = "0x" + "ab" * 20
DIGEST = bytes(range(32))
AS_OF = int(time.time()) - 3600


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    return custody_folder(tmp_path_factory.mktemp("custody") / "exports", AS_OF)


def make_node(tmp_path, folder, account=ATTESTORS[0], digest_of=None, state=None, **kw) -> CustodianAttestor:
    return CustodianAttestor(
        account=account, chain_id=CHAIN_ID, products={PRODUCT: ProductTarget(CONTRACT, DIGEST)},
        custody=CustodyRecords(exports=folder, db_path=tmp_path / "node" / "custody.db"),
        signed=SignedLog(state or tmp_path / "node" / "signed.db"), config_digest_of=digest_of, **kw)


def request(folder, with_lots=True, **changes) -> AttestationRequest:
    att = expected_attestation(folder, PRODUCT, AS_OF)
    body = {"product": PRODUCT, "chain_id": CHAIN_ID, "attestor": CONTRACT, "config_digest": DIGEST,
            "deadline": int(time.time()) + 86400, "attestation": att,
            "lots": reserve_lots(folder, PRODUCT, AS_OF) if with_lots else None}
    body.update(changes)
    return AttestationRequest(**body)


def test_signs_what_its_books_give_with_a_real_signature(tmp_path, books):
    node = make_node(tmp_path, books)
    req = request(books)
    assert req.attestation.lot_count > 0
    signed = node.handle(req)
    assert signed.signer == ATTESTORS[0].address
    assert recover_signer(CHAIN_ID, CONTRACT, req.attestation, DIGEST, req.deadline, signed.signature) == ATTESTORS[0].address
    assert node.signed.count() == 1


def test_tampered_books_refuse_and_name_the_lot_with_both_quantities(tmp_path, books):
    tampered = copy_folder(books, tmp_path / "tampered")
    warehouse, lot_id, _new = tamper_quantity(tampered)
    node = make_node(tmp_path, tampered)
    with pytest.raises(Refused) as info:
        node.handle(request(books))
    r = info.value
    assert r.code == "custody_mismatch"
    assert f"{warehouse}/{lot_id}" in r.message
    (diff,) = r.details["differences"]
    assert diff["kind"] == "quantity_differs" and diff["lot_id"] == lot_id
    # the sample catalogue gives NDPR-OXIDE 18 decimals per kg: one kg less
    assert int(diff["requested_quantity"]) - int(diff["custody_quantity"]) == 10**18
    assert node.signed.count() == 0


def test_missing_and_extra_lots_are_named(tmp_path, books):
    node = make_node(tmp_path, books)
    lots = reserve_lots(books, PRODUCT, AS_OF)
    dropped, kept = lots[0], lots[1:]
    invented = kept[0].model_copy(update={"lot_id": "INVENTED-1"})
    asked = [*kept, invented]
    att = Attestation.of_lots(asked, AS_OF, bytes(32).replace(b"\0", b"\1"))
    with pytest.raises(Refused) as info:
        node.handle(request(books, attestation=att, lots=asked))
    kinds = {(d["lot_id"], d["kind"]) for d in info.value.details["differences"]}
    assert kinds == {(dropped.lot_id, "missing_from_request"), ("INVENTED-1", "not_in_custody")}


def test_without_a_lot_list_the_refusal_gives_the_books_figures(tmp_path, books):
    tampered = copy_folder(books, tmp_path / "tampered")
    tamper_quantity(tampered)
    node = make_node(tmp_path, tampered)
    good = request(books, with_lots=False)
    with pytest.raises(Refused) as info:
        node.handle(good)
    assert info.value.code == "custody_mismatch"
    assert int(info.value.details["custody"]["total_quantity"]) == good.attestation.total_quantity - 10**18


def test_lots_that_do_not_give_the_requested_root_are_a_bad_request(tmp_path, books):
    node = make_node(tmp_path, books)
    lots = reserve_lots(books, PRODUCT, AS_OF)
    with pytest.raises(Refused) as info:
        node.handle(request(books, lots=lots[1:]))
    assert info.value.code == "bad_request"


@pytest.mark.parametrize("changes,code", [
    ({"chain_id": 1}, "wrong_chain"),
    ({"attestor": "0x" + "cd" * 20}, "wrong_contract"),
    ({"config_digest": bytes(32)}, "wrong_config"),
    ({"product": "DY-METAL"}, "unknown_product"),
    ({"deadline": int(time.time()) - 1}, "deadline_passed"),
    ({"deadline": int(time.time()) + 30 * 86400}, "deadline_too_far"),
])
def test_refuses_other_terms_and_signs_nothing(tmp_path, books, changes, code):
    node = make_node(tmp_path, books)
    with pytest.raises(Refused) as info:
        node.handle(request(books, **changes))
    assert info.value.code == code
    assert node.signed.count() == 0


def test_future_as_of_is_refused(tmp_path, books):
    node = make_node(tmp_path, books, clock=lambda: AS_OF - 3600)
    with pytest.raises(Refused) as info:
        node.handle(request(books))
    assert info.value.code == "as_of_in_future"


def test_live_config_digest_from_the_chain_reader(tmp_path, books):
    current = {"digest": DIGEST}
    node = make_node(tmp_path, books, digest_of=lambda addr: current["digest"])
    node.handle(request(books))
    current["digest"] = b"\x07" * 32  # the attestor set changed on chain
    with pytest.raises(Refused) as info:
        node.handle(request(books, deadline=int(time.time()) + 7200))
    assert info.value.code == "wrong_config"

    def down(addr):
        raise ConnectionError("node down")

    node.config_digest_of = down
    with pytest.raises(Refused) as info:
        node.handle(request(books))
    assert info.value.code == "chain_unreachable"


def test_never_signs_two_different_attestations_for_one_as_of_even_after_restart(tmp_path, books):
    state = tmp_path / "state" / "signed.db"
    node = make_node(tmp_path, books, state=state)
    req = request(books)
    first = node.handle(req)
    again = node.handle(req)
    assert again.repeated and again.signature == first.signature
    node.custody.close()

    # the books change for that as-of (a correction): a fresh process with the same state refuses
    changed = copy_folder(books, tmp_path / "changed")
    tamper_quantity(changed)
    restarted = make_node(tmp_path / "second", changed, state=state)
    other = expected_attestation(changed, PRODUCT, AS_OF)
    with pytest.raises(Refused) as info:
        restarted.handle(request(changed, attestation=other, lots=reserve_lots(changed, PRODUCT, AS_OF)))
    assert info.value.code == "already_signed"
    assert info.value.details["signed"]["merkle_root"] == "0x" + req.attestation.merkle_root.hex()
    assert restarted.signed.count() == 1


def test_concurrent_requests_sign_one_attestation(tmp_path, books):
    """Two different attestations for the same as-of raced from threads: one is signed, one refused."""
    node = make_node(tmp_path, books)
    good = request(books)
    # same lots (the custody check passes for both), another report hash: a different attestation
    other = good.model_copy(update={"attestation": good.attestation.model_copy(update={"report_hash": b"\x09" * 32})})
    results: list = []

    def go(r):
        try:
            results.append(node.handle(r))
        except Refused as exc:
            results.append(exc)

    threads = [threading.Thread(target=go, args=(r,)) for r in (good, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(x).__name__ for x in results) == ["Refused", "Signed"]
    assert next(x for x in results if isinstance(x, Refused)).code == "already_signed"


def test_unreadable_export_refuses_naming_the_file(tmp_path, books):
    broken = copy_folder(books, tmp_path / "broken")
    (broken / "WH-BAD.json").write_text("{not json", encoding="utf-8")
    node = make_node(tmp_path, broken)
    with pytest.raises(Refused) as info:
        node.handle(request(books))
    assert info.value.code == "custody_unreadable" and "WH-BAD.json" in info.value.message


def test_request_model_refuses_unknown_fields_and_bad_addresses():
    with pytest.raises(ValueError):
        AttestationRequest.model_validate({"product": PRODUCT, "chain_id": 1, "attestor": "0x12", "config_digest": "0x" + "00" * 32,
                                           "deadline": 1, "attestation": {}})
    with pytest.raises(ValueError):
        AttestationRequest.model_validate_json('{"product": "X", "surprise": 1}')


def test_report_hash_must_be_one_of_the_custodians_reports_when_configured(tmp_path, books):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "report.txt").write_bytes(b"the custodian's own report")
    node = make_node(tmp_path, books, reports=reports)
    req = request(books)
    with pytest.raises(Refused) as info:
        node.handle(req)
    assert info.value.code == "unknown_report"
    ours = req.attestation.model_copy(update={"report_hash": report_hash(b"the custodian's own report")})
    assert node.handle(request(books, attestation=ours)).signer == ATTESTORS[0].address


def test_books_from_a_custody_database_url(tmp_path, books):
    """The custodian's own reconciliation database (by URL) instead of an export folder."""
    from stockpile.reconcile.db.store import Database

    db = Database(tmp_path / "custodian.db")
    for p in sorted(books.iterdir()):
        if p.suffix in (".csv", ".json") and not p.name.endswith(".rejects.csv"):
            db.ingest(p, rejects_dir=tmp_path)
    db.dispose()
    node = CustodianAttestor(account=ATTESTORS[1], chain_id=CHAIN_ID, products={PRODUCT: ProductTarget(CONTRACT, DIGEST)},
                             custody=CustodyRecords(db_url=f"sqlite:///{tmp_path / 'custodian.db'}"),
                             signed=SignedLog(tmp_path / "signed.db"))
    assert node.handle(request(books)).signer == ATTESTORS[1].address
    with pytest.raises(ValueError):
        CustodyRecords(exports=books, db_url="sqlite:///x.db")
