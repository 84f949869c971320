// Entry of the browser bundle static/merkle-tree.js (built by `python -m stockpile.portal.bundle`):
// @openzeppelin/merkle-tree's own StandardMerkleTree, exposed to the portal's pages.
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

window.OZMerkle = {
  // true when `proof` leads from the leaf of `value` (encoded with `leafEncoding`) to `root`
  verify: (root, leafEncoding, value, proof) => StandardMerkleTree.verify(root, leafEncoding, value, proof),
  leafHash: (leafEncoding, value) => StandardMerkleTree.of([value], leafEncoding).leafHash(value),
};
