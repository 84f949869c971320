// Independent reference: @openzeppelin/merkle-tree's StandardMerkleTree, called by the tests.
// One request per stdin line, one answer per stdout line (tests/merkle keeps one process for the
// whole module instead of starting node, ~0.15 s CPU, per hypothesis example; a single request
// without a line break, then end of input, works as before):
// request: {"types": [...], "values": [[...], ...], "load": <optional dump from Python>}
// answer: {"root", "proofs": [[...] per value], "dump", "verifiedLoaded": bool|null}
const path = require("path");
const readline = require("readline");
const { StandardMerkleTree } = require(path.resolve(__dirname, "../../node_modules/@openzeppelin/merkle-tree"));

function answer(input) {
  const tree = StandardMerkleTree.of(input.values, input.types);
  const proofs = input.values.map((_, i) => tree.getProof(i));
  let verifiedLoaded = null;
  if (input.load) {
    const loaded = StandardMerkleTree.load(input.load);
    loaded.validate();
    verifiedLoaded = loaded.root === tree.root && input.values.every((v, i) => loaded.verify(v, loaded.getProof(i)));
  }
  return { root: tree.root, proofs, dump: tree.dump(), verifiedLoaded };
}

// Requests are JSON written with ASCII escapes, so a line break inside a value never splits a line.
readline.createInterface({ input: process.stdin, crlfDelay: Infinity }).on("line", (line) => {
  let reply;
  try {
    reply = answer(JSON.parse(line));
  } catch (e) {
    reply = { error: String(e && e.stack ? e.stack : e) };
    process.exitCode = 1; // one-shot callers (tests/reserve, tests/reconcile) see a failed run
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
});
