// The lot page's proof check, in the browser: the root is read from the attestor contract on chain
// (an eth_call through the portal's read-only /rpc pass-through), the proof is checked with
// @openzeppelin/merkle-tree's own StandardMerkleTree.verify (static/merkle-tree.js).
(function () {
  "use strict";
  const button = document.getElementById("verify");
  const out = document.getElementById("verify-result");
  const area = document.getElementById("proof-json");
  if (!button || !out || !area) return;

  function show(state, text) {
    out.dataset.state = state;
    out.textContent = text;
  }

  async function onChainRoot(attestor, selector) {
    // latestAttestation() returns ((bytes32 merkleRoot, ...), uint80, uint64): all static, so the
    // root is the first 32-byte word of the return data.
    const r = await fetch("/rpc", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_call", params: [{ to: attestor, data: selector }, "latest"] }),
    });
    const body = await r.json();
    if (!r.ok || body.error || typeof body.result !== "string" || body.result.length < 66) {
      throw new Error("could not read the attested root: " + JSON.stringify(body.error || body));
    }
    return "0x" + body.result.slice(2, 66);
  }

  async function verify() {
    show("pending", "checking...");
    let pf;
    try {
      pf = JSON.parse(area.value);
    } catch (e) {
      show("error", "ERROR: the proof is not valid JSON (" + e.message + ")");
      return;
    }
    let root;
    try {
      root = await onChainRoot(button.dataset.attestor, button.dataset.selector);
    } catch (e) {
      show("error", "ERROR: " + e.message);
      return;
    }
    try {
      const ok = window.OZMerkle.verify(root, pf.leafEncoding, pf.value, pf.proof);
      if (ok) {
        show("valid", "VALID: the lot is in the reserve attested on chain (root " + root + ")");
      } else {
        show("invalid", "INVALID: this proof does not lead to the on-chain root " + root);
      }
    } catch (e) {
      show("invalid", "INVALID: the proof is malformed (" + e.message + ")");
    }
  }

  button.addEventListener("click", verify);
  verify();
})();
