#!/usr/bin/env node
// A `solc` command-line interface over solc-js (npm package `solc`, the official wasm build).
//
// No native solc can be downloaded on our machines, but py-solc-x, ape-solidity, slither and
// forge all accept any executable that behaves like the native CLI. This file emulates the
// parts of that CLI those tools use:
//   --version, --help
//   --standard-json [file]                (JSON on stdin or from a file)
//   --combined-json abi,bin,... files...  (remappings as positional prefix=path arguments)
//   --base-path, --include-path (repeatable), --allow-paths a,b
//   --optimize, --optimize-runs N, --evm-version V, --via-ir, --output-dir D, --overwrite
// Unknown options are refused with exit code 1, as the native compiler does, so that a
// caller's mistake is not hidden. Output is written synchronously so that pipes receive
// all of it (process.exit after an async write truncates at 64 KiB).
"use strict";

// V8 first runs solc's wasm through its baseline compiler (Liftoff) and re-compiles functions that
// get hot with its optimizing compiler (TurboFan). At V8's default budget that re-compiling costs
// more CPU than it saves in most of our runs: a small contract importing OpenZeppelin took ~2.1 s
// CPU, ~0.85 s with a budget 150x larger; a layouts-only compile of contracts/ ~4.8 s -> ~3.4 s; a
// full optimised compile of contracts/ (~14 s) the same. Set before solc's wasm is compiled.
require("v8").setFlagsFromString("--wasm-tiering-budget=300000000");

const fs = require("fs");
const path = require("path");

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

function solcPackageDir() {
  const wanted = process.env.STOCKPILE_SOLC_PACKAGE || "solc";
  for (const c of [path.join(PROJECT_ROOT, "node_modules", wanted), wanted]) {
    try {
      return path.dirname(require.resolve(`${c}/package.json`));
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND") throw e;
    }
  }
  return null;
}

// What is kept between runs, per solc-js package, in $STOCKPILE_SOLC_CACHE (default
// node_modules/.cache/stockpile-solc): keyed by the package's folder, version and its soljson.js
// size and time, so another solc-js there is asked afresh.
function kept(dir) {
  const real = fs.realpathSync(dir);
  const st = fs.statSync(path.join(real, "soljson.js"));
  const pkg = JSON.parse(fs.readFileSync(path.join(real, "package.json"), "utf8"));
  const key = [real, pkg.version, st.size, st.mtimeMs].join(" ");
  const folder = process.env.STOCKPILE_SOLC_CACHE || path.join(PROJECT_ROOT, "node_modules", ".cache", "stockpile-solc");
  const tag = require("crypto").createHash("sha256").update(key).digest("hex").slice(0, 16);
  return { real, key, base: path.join(folder, path.basename(real)), tag };
}

function keep(file, data) {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`; // parallel callers: write, then rename
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    // a read-only checkout still works, only slower
  }
}

// soljson.js carries solc's wasm as base64 of an LZ4 block (9 MB of text for 22 MB of wasm), decoded
// in JavaScript on every start: ~0.17 s of the ~0.35 s CPU a start costs. The decoded wasm is kept
// (checked: wasm magic, the size soljson.js states) and soljson.js runs with it in place of its
// decoder statement, as solc-js's own loadRemoteVersion runs a downloaded soljson.js. Any other
// layout of soljson.js (null): the plain require.
const WASM_DECODER = 'Module["wasmBinary"] = (function (source, uncompressedSize) {';

function soljsonWithKeptWasm(dir) {
  const k = kept(dir);
  const file = path.join(k.real, "soljson.js");
  const text = fs.readFileSync(file, "utf8");
  const start = text.indexOf(WASM_DECODER);
  const end = start < 0 ? -1 : text.indexOf("\nvar Module = typeof Module", start);
  if (end < 0) return null;
  const decoder = text.slice(start, end);
  const size = Number((/,\s*(\d+)\);\s*$/.exec(decoder) || [])[1]);
  const valid = (b) => b !== null && b.length === size && b.length > 8 && b.readUInt32LE(0) === 0x6d736100;
  const wasmFile = `${k.base}-${k.tag}.wasm`;
  let bytes = null;
  try {
    bytes = fs.readFileSync(wasmFile);
  } catch (e) {
    // not kept yet
  }
  if (!valid(bytes)) {
    const holder = {};
    new Function("Module", decoder)(holder); // soljson.js's own decoder
    const w = holder.wasmBinary;
    bytes = w ? Buffer.from(w.buffer, w.byteOffset, w.byteLength) : null;
    if (!valid(bytes)) return null;
    keep(wasmFile, bytes);
  }
  const Module = require("module");
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(k.real);
  globalThis.__stockpileSolcWasm = bytes;
  try {
    m._compile(text.slice(0, start) + 'Module["wasmBinary"] = globalThis.__stockpileSolcWasm;' + text.slice(end), file);
  } finally {
    delete globalThis.__stockpileSolcWasm;
  }
  return m.exports;
}

function loadSolc() {
  const dir = solcPackageDir();
  if (!dir) fail(`solc-js not found: run 'npm ci' in ${PROJECT_ROOT}`);
  let soljson = null;
  try {
    soljson = soljsonWithKeptWasm(dir);
  } catch (e) {
    soljson = null; // the plain require below
  }
  if (soljson) {
    const wrapper = require(path.join(dir, "wrapper.js"));
    return (wrapper.default || wrapper)(soljson);
  }
  return require(dir);
}

// `--version` runs before every py-solc-x compile and on every ape-solidity start; loading solc's
// wasm to answer it costs ~0.35 s CPU: the answer is kept too.
function versionString() {
  const dir = solcPackageDir();
  let k = null;
  if (dir) {
    try {
      k = kept(dir);
      const answer = JSON.parse(fs.readFileSync(`${k.base}-version.json`, "utf8"));
      if (answer.key === k.key && typeof answer.version === "string") return answer.version;
    } catch (e) {
      // no answer kept yet (or an unreadable one): ask the wasm
    }
  }
  const version = nativeVersion(loadSolc());
  if (k) keep(`${k.base}-version.json`, JSON.stringify({ key: k.key, version }) + "\n");
  return version;
}

function writeAll(fd, text) {
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === "EAGAIN") continue; // non-blocking pipe is full: retry
      if (e.code === "EPIPE") return; // reader went away (e.g. `| head`): nothing more to do
      throw e;
    }
  }
}

function fail(message, code = 1) {
  writeAll(2, message.endsWith("\n") ? message : message + "\n");
  process.exitCode = code;
  throw new ExitSignal();
}

class ExitSignal extends Error {}

function nativeVersion(solc) {
  // solc-js reports e.g. "0.8.28+commit.7893614a.Emscripten.clang"; native Linux builds say
  // "0.8.28+commit.7893614a.Linux.g++". Tools parse "<x.y.z>+commit.<hash>".
  return solc.version().replace(/\.Emscripten\.clang$/, ".Linux.g++");
}

const COMBINED_OUTPUTS = {
  abi: ["abi"],
  asm: ["evm.legacyAssembly"],
  ast: null, // per source
  bin: ["evm.bytecode.object"],
  "bin-runtime": ["evm.deployedBytecode.object"],
  devdoc: ["devdoc"],
  "function-debug": ["evm.bytecode.functionDebugData"],
  "function-debug-runtime": ["evm.deployedBytecode.functionDebugData"],
  "generated-sources": ["evm.bytecode.generatedSources"],
  "generated-sources-runtime": ["evm.deployedBytecode.generatedSources"],
  hashes: ["evm.methodIdentifiers"],
  metadata: ["metadata"],
  opcodes: ["evm.bytecode.opcodes"],
  srcmap: ["evm.bytecode.sourceMap"],
  "srcmap-runtime": ["evm.deployedBytecode.sourceMap"],
  "storage-layout": ["storageLayout"],
  userdoc: ["userdoc"],
};

function helpText() {
  return [
    "solc, the solidity compiler commandline interface (solc-js shim)",
    "",
    "Usage: solc [options] [input_file...]",
    "",
    "Input Options:",
    "  --base-path path     Use the given path as the root of the source tree.",
    "  --include-path path  Make an additional source directory available.",
    "  --allow-paths path(s)",
    "                       Allow a given path for imports.",
    "",
    "Output Options:",
    "  -o [ --output-dir ] path",
    "                       Write output files to this directory.",
    "  --overwrite          Overwrite existing files.",
    "  --evm-version version",
    "                       Select desired EVM version.",
    "  --via-ir             Compile through the IR pipeline.",
    "",
    "Alternative Input Modes:",
    "  --standard-json      Switch to Standard JSON input / output mode.",
    "",
    "Output Components:",
    "  --combined-json " + Object.keys(COMBINED_OUTPUTS).join(","),
    "",
    "Optimizer Options:",
    "  --optimize           Enable optimizer.",
    "  --optimize-runs n    The number of runs the optimizer is tuned for.",
    "",
    "Info:",
    "  --help               Show help message and exit.",
    "  --version            Show version and exit.",
    "",
  ].join("\n");
}

function parseArgs(argv) {
  const opts = {
    includePaths: [],
    allowPaths: [],
    files: [],
    remappings: [],
    optimize: false,
  };
  const withValue = new Set([
    "--base-path",
    "--include-path",
    "--allow-paths",
    "--combined-json",
    "--optimize-runs",
    "--evm-version",
    "--output-dir",
    "-o",
  ]);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    if (arg.startsWith("--") && arg.includes("=")) {
      [arg, value] = [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)];
    }
    if (withValue.has(arg) && value === undefined) {
      if (i + 1 >= argv.length) fail(`the required argument for option '${arg}' is missing`);
      value = argv[++i];
    }
    switch (arg) {
      case "--version":
        opts.version = true;
        break;
      case "--help":
        opts.help = true;
        break;
      case "--standard-json":
        opts.standardJson = true;
        break;
      case "--base-path":
        opts.basePath = value;
        break;
      case "--include-path":
        opts.includePaths.push(value);
        break;
      case "--allow-paths":
        opts.allowPaths.push(...value.split(",").filter(Boolean));
        break;
      case "--combined-json":
        opts.combinedJson = value.split(",").filter(Boolean);
        break;
      case "--optimize":
        opts.optimize = true;
        break;
      case "--optimize-runs":
        opts.optimizeRuns = parseInt(value, 10);
        if (!Number.isFinite(opts.optimizeRuns)) fail(`invalid --optimize-runs value '${value}'`);
        break;
      case "--evm-version":
        opts.evmVersion = value;
        break;
      case "--via-ir":
        opts.viaIR = true;
        break;
      case "--output-dir":
      case "-o":
        opts.outputDir = value;
        break;
      case "--overwrite":
        opts.overwrite = true;
        break;
      case "-":
        opts.stdinSource = true;
        break;
      default:
        if (arg.startsWith("-")) fail(`unrecognised option '${arg}'`);
        if (arg.includes("=")) opts.remappings.push(arg);
        else opts.files.push(arg);
    }
  }
  return opts;
}

function makeImportCallback(roots, allowed) {
  const allowedRoots = allowed.map((p) => path.resolve(p));
  function isAllowed(file) {
    return allowedRoots.some((root) => file === root || file.startsWith(root + path.sep));
  }
  return function findImports(importPath) {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((r) => path.resolve(r, importPath));
    for (const file of candidates) {
      if (!fs.existsSync(file) || !fs.statSync(file).isFile()) continue;
      if (!isAllowed(fs.realpathSync(file)) && !isAllowed(file)) {
        return { error: `File outside of allowed directories: ${importPath}` };
      }
      return { contents: fs.readFileSync(file, "utf8") };
    }
    return { error: `File not found. Searched the following locations: ${roots.join(", ")}` };
  };
}

function searchRoots(opts) {
  const base = path.resolve(opts.basePath || process.cwd());
  return [base, ...opts.includePaths.map((p) => path.resolve(p))];
}

function readStdin() {
  const chunks = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if (e.code === "EAGAIN") continue;
      if (e.code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function runStandardJson(solc, opts) {
  const inputText = opts.files.length ? fs.readFileSync(opts.files[0], "utf8") : readStdin();
  let input;
  try {
    input = JSON.parse(inputText);
  } catch (e) {
    writeAll(1, JSON.stringify({
      errors: [{ component: "general", formattedMessage: `Error: ${e.message}`, message: e.message, severity: "error", type: "JSONError" }],
    }) + "\n");
    return;
  }
  const roots = searchRoots(opts);
  const allowed = [...roots, ...opts.allowPaths];
  const output = solc.compile(JSON.stringify(input), { import: makeImportCallback(roots, allowed) });
  // Native solc exits 0 in standard-json mode even when the compilation reports errors.
  writeAll(1, output + "\n");
}

function runCombinedJson(solc, opts) {
  const roots = searchRoots(opts);
  const base = roots[0];
  const sources = {};
  const allowed = [...roots, ...opts.allowPaths];
  for (const f of opts.files) {
    const abs = path.resolve(f);
    if (!fs.existsSync(abs)) fail(`"${f}" is not found.`);
    const rel = path.relative(base, abs);
    const unitName = !rel.startsWith("..") && !path.isAbsolute(rel) ? rel.split(path.sep).join("/") : f;
    sources[unitName] = { content: fs.readFileSync(abs, "utf8") };
    allowed.push(path.dirname(abs));
  }
  if (opts.stdinSource) sources["<stdin>"] = { content: readStdin() };
  if (Object.keys(sources).length === 0) fail("No input files given. If you wish to use the standard input please specify \"-\" explicitly.");

  const wanted = opts.combinedJson || [];
  const selection = new Set();
  for (const key of wanted) {
    if (!(key in COMBINED_OUTPUTS)) fail(`Invalid option to --combined-json: ${key}`);
    for (const s of COMBINED_OUTPUTS[key] || []) selection.add(s);
  }
  const settings = {
    optimizer: { enabled: opts.optimize, runs: opts.optimizeRuns ?? 200 },
    remappings: opts.remappings,
    outputSelection: { "*": { "*": [...selection], "": wanted.includes("ast") ? ["ast"] : [] } },
  };
  if (opts.evmVersion) settings.evmVersion = opts.evmVersion;
  if (opts.viaIR) settings.viaIR = true;
  const input = { language: "Solidity", sources, settings };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: makeImportCallback(roots, allowed) }));

  let hasError = false;
  for (const err of out.errors || []) {
    writeAll(2, (err.formattedMessage || err.message) + "\n");
    if (err.severity === "error") hasError = true;
  }
  if (hasError) {
    process.exitCode = 1;
    return;
  }

  const result = { contracts: {}, sourceList: [], sources: {}, version: nativeVersion(solc) };
  const get = (obj, dotted) => dotted.split(".").reduce((o, k) => (o == null ? o : o[k]), obj);
  for (const [file, contracts] of Object.entries(out.contracts || {})) {
    for (const [name, data] of Object.entries(contracts)) {
      const entry = {};
      for (const key of wanted) {
        const paths = COMBINED_OUTPUTS[key];
        if (!paths) continue;
        const v = get(data, paths[0]);
        entry[key] = v === undefined ? "" : v;
      }
      result.contracts[`${file}:${name}`] = entry;
    }
  }
  const byId = Object.entries(out.sources || {}).sort((a, b) => a[1].id - b[1].id);
  for (const [file, data] of byId) {
    result.sourceList.push(file);
    result.sources[file] = wanted.includes("ast") ? { AST: data.ast, id: data.id } : { id: data.id };
  }
  const text = JSON.stringify(result);
  if (opts.outputDir) {
    fs.mkdirSync(opts.outputDir, { recursive: true });
    const target = path.join(opts.outputDir, "combined.json");
    if (fs.existsSync(target) && !opts.overwrite) fail(`Refusing to overwrite existing file "${target}" (use --overwrite to force).`);
    fs.writeFileSync(target, text + "\n");
    return;
  }
  writeAll(1, text + "\n");
}

function main(argv) {
  const opts = parseArgs(argv);
  if (opts.help) {
    writeAll(1, helpText());
    return;
  }
  if (opts.version) {
    writeAll(1, `solc, the solidity compiler commandline interface\nVersion: ${versionString()}\n`);
    return;
  }
  const solc = loadSolc();
  if (opts.standardJson) return runStandardJson(solc, opts);
  if (opts.combinedJson || opts.files.length || opts.stdinSource) {
    if (!opts.combinedJson) fail("Only --combined-json output is supported by this solc-js shim; use --combined-json or --standard-json.");
    return runCombinedJson(solc, opts);
  }
  fail("No input files given. If you wish to use the standard input please specify \"-\" explicitly.");
}

try {
  main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof ExitSignal)) {
    writeAll(2, `solc shim: ${e && e.stack ? e.stack : e}\n`);
    process.exitCode = 1;
  }
}
