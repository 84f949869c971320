#!/usr/bin/env node
// Check a verification bundle (`stockpile deploy verify --bundle DIR`) with Sourcify's own
// verification library, @ethereum-sourcify/lib-sourcify, against a chain.
//
//   node tools/sourcify/verify-bundle.js DIR RPC_URL
//
// For every contract of DIR/bundle.json: Sourcify reads metadata.json with the sources, checks each
// source against the metadata's keccak256, recompiles with the solc the metadata names (npm solc,
// solc-js, here) and compares runtime and creation bytecode with the chain. Prints one JSON line
// per contract ({key, address, runtimeMatch, creationMatch}); exits 1 unless every one is a
// perfect (full) match, metadata hash included.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');
const {
  SolidityMetadataContract, Verification, SourcifyChain, setLibSourcifyLoggerLevel,
} = require('@ethereum-sourcify/lib-sourcify');

setLibSourcifyLoggerLevel(1); // warnings and errors only: stdout carries one JSON line per contract

class SolcJs {
  constructor() {
    // the same standard-JSON input compiles to the same output: two proxies of one StockpileProxy
    // source are compiled once (solc-js takes ~2 s CPU per contract)
    this.outputs = new Map();
  }

  async compile(version, input) {
    const have = solc.version();
    if (!have.startsWith(version)) {
      throw new Error(`the metadata asks for solc ${version}, this solc-js is ${have}`);
    }
    const json = JSON.stringify(input);
    if (!this.outputs.has(json)) this.outputs.set(json, solc.compile(json));
    const output = JSON.parse(this.outputs.get(json));
    const errors = (output.errors || []).filter((e) => e.severity === 'error');
    if (errors.length) {
      const err = new Error(`compilation failed: ${errors[0].formattedMessage || errors[0].message}`);
      err.errors = output.errors;
      throw err;
    }
    return output;
  }
}

async function main() {
  const [dir, rpc] = process.argv.slice(2);
  if (!dir || !rpc) {
    process.stderr.write('usage: verify-bundle.js BUNDLE_DIR RPC_URL\n');
    process.exit(2);
  }
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'bundle.json'), 'utf8'));
  const chain = new SourcifyChain({ name: 'rehearsal', chainId: index.chain_id, rpcs: [{ rpc }], supported: true });
  const compiler = new SolcJs();
  let allPerfect = true;
  for (const [key, entry] of Object.entries(index.contracts)) {
    const folder = path.join(dir, entry.folder);
    const metadata = JSON.parse(fs.readFileSync(path.join(folder, 'metadata.json'), 'utf8'));
    const input = JSON.parse(fs.readFileSync(path.join(folder, 'input.json'), 'utf8'));
    const sources = Object.entries(input.sources).map(([p, s]) => ({ path: p, content: s.content }));
    const result = { key, address: entry.address };
    try {
      const contract = new SolidityMetadataContract(metadata, sources);
      if (!contract.isCompilable()) throw new Error('sources missing or not matching the metadata');
      const compilation = await contract.createCompilation(compiler);
      const verification = new Verification(compilation, chain, entry.address, entry.creation_tx);
      await verification.verify();
      Object.assign(result, verification.status);
    } catch (err) {
      result.error = String(err && err.message ? err.message : err);
    }
    if (result.runtimeMatch !== 'perfect' || result.creationMatch !== 'perfect') allPerfect = false;
    fs.writeSync(1, JSON.stringify(result) + '\n');
  }
  process.exitCode = allPerfect ? 0 : 1;
}

main().catch((err) => {
  fs.writeSync(2, `error: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 2;
});
