// Independent reference: @openzeppelin/merkle-tree's StandardMerkleTree, called by the tests.
// stdin: {"types": [...], "values": [[...], ...], "load": <optional dump from Python>}
// stdout: {"root", "proofs": [[...] per value], "dump", "verifiedLoaded": bool|null}
const path = require("path");
const { StandardMerkleTree } = require(path.resolve(__dirname, "../../node_modules/@openzeppelin/merkle-tree"));
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const tree = StandardMerkleTree.of(input.values, input.types);
const proofs = input.values.map((_, i) => tree.getProof(i));
let verifiedLoaded = null;
if (input.load) {
  const loaded = StandardMerkleTree.load(input.load);
  loaded.validate();
  verifiedLoaded = loaded.root === tree.root && input.values.every((v, i) => loaded.verify(v, loaded.getProof(i)));
}
process.stdout.write(JSON.stringify({ root: tree.root, proofs, dump: tree.dump(), verifiedLoaded }));
