# Stockpile: the two commands are `make demo` and `make test` (see README.md).
# Every step is skipped when already done: stamps depend on the lock files they install.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOLC_VERSION := $(shell sed -n '/"node_modules\/solc"/,/version/ s/.*"version": "\(.*\)".*/\1/p' package-lock.json | head -1)
SOLCX_DIR := $(if $(SOLCX_BINARY_PATH),$(SOLCX_BINARY_PATH),$(HOME)/.solcx)
APE_PKGS := $(HOME)/.ape/packages/projects
SOL_SOURCES := $(shell find contracts -name '*.sol' -not -path '*/.cache/*' 2>/dev/null)
ARTIFACTS_STAMP := python/stockpile/contracts/artifacts/.stamp
APE_BUILD_STAMP := .build/.stamp
# Test and benchmark contracts (tests/contracts, bench/contracts): not in the package's artifacts.
DEV_SOL_SOURCES := $(wildcard tests/contracts/*.sol bench/contracts/*.sol)
DEV_ARTIFACTS_STAMP := .build/dev-artifacts/.stamp
PYTEST_WARM_STAMP := .build/.pytest-warm
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

TOOLS := .venv-tools
SLITHER_STAMP := .build/slither.stamp

.PHONY: help setup setup-steps browser demo test lint bench clean contracts-cache-link dist

help:
	@echo "make demo   - set up what is missing, then run the main journey on a local anvil chain"
	@echo "make test   - set up what is missing, then run the whole test suite"
	@echo "make lint   - ruff, mypy and Slither (High/Medium findings fail)"
	@echo "make bench  - run the benchmarks, write bench/results/*.json"
	@echo "make dist   - the wheel and sdist (with the compiled product contracts) into dist/"
	@echo "make setup  - only the set-up (venv, npm packages, solc shim, ape packages, artifacts)"
	@echo "make browser - headless Chromium for the portal's browser tests (apt, when missing)"
	@echo "make devnet - a local chain with the sample deployment, feeder, reconcile watch and portal (stays up)"

# uv (from PyPI, pinned in requirements.lock) installs the locked tree: downloads in parallel, about
# 4x faster than pip on a fresh machine (56 s against ~200 s measured here); pip then installs the
# project itself (its setup.py build hook, which also compiles stockpile.core._keccak).
UV_PIN := $(shell grep -i '^uv==' requirements.lock)
$(BIN)/.installed: pyproject.toml requirements.lock setup.py python/stockpile/core/_keccak.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check $(UV_PIN)
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The solc-js shim, registered for py-solc-x / ape-solidity (~/.solcx) and as `solc`/`anvil` in the venv.
# The stamp sits next to the link, so an empty HOME (or a link to a checkout that is gone) redoes it.
SHIM_STAMP := $(SOLCX_DIR)/.stockpile-$(SOLC_VERSION)-$(shell echo $(CURDIR) | md5sum | cut -c1-8)
$(SHIM_STAMP): $(BIN)/.installed node_modules/.installed tools/solc/solc
	$(BIN)/stockpile toolchain install
	ln -sf $(CURDIR)/node_modules/.bin/anvil $(BIN)/anvil
	touch $@

$(APE_PKGS)/@openzeppelin_contracts/5_7_0 $(APE_PKGS)/@openzeppelin_contracts-upgradeable/5_7_0 &: ape-config.yaml $(SHIM_STAMP)
	$(BIN)/ape pm install
	@touch $(APE_PKGS)/@openzeppelin_contracts/5_7_0 $(APE_PKGS)/@openzeppelin_contracts-upgradeable/5_7_0

$(ARTIFACTS_STAMP): $(SOL_SOURCES) ape-config.yaml $(SHIM_STAMP) node_modules/.installed python/stockpile/contracts/compile.py
	$(BIN)/stockpile build
	touch $@

# contracts/.cache (where ape-solidity copies OpenZeppelin, ~700 files) is a committed symlink to
# .ape-dependencies/: ape 0.8.51 walks at most 500 files of the contracts folder and does not
# follow symlinks, so the copies never hide our contracts. A checkout that still has a real
# folder there (made before the link) gets the link back.
contracts-cache-link:
	@test -L contracts/.cache || { rm -rf contracts/.cache && ln -s ../.ape-dependencies contracts/.cache; }
	@mkdir -p .ape-dependencies

# ape's compiled project (.build), made once here so parallel test workers only read it.
$(APE_BUILD_STAMP): $(SOL_SOURCES) ape-config.yaml $(APE_PKGS)/@openzeppelin_contracts/5_7_0 | contracts-cache-link
	$(BIN)/ape compile
	touch $@

# The test/bench contracts, compiled once here (devkit/contracts.py caches them by source hash).
$(DEV_ARTIFACTS_STAMP): $(SOL_SOURCES) $(DEV_SOL_SOURCES) ape-config.yaml $(SHIM_STAMP) node_modules/.installed devkit/contracts.py
	$(BIN)/python -m devkit.contracts
	@mkdir -p $(@D) && touch $@

# The steps' own prerequisites order them; -j3 runs the independent ones side by side (on a fresh
# machine the two installs wait on the network, and the three compiles are single-threaded solc-js).
setup:
	@$(MAKE) --no-print-directory -j3 setup-steps

setup-steps: $(BIN)/.installed node_modules/.installed $(SHIM_STAMP) $(APE_PKGS)/@openzeppelin_contracts/5_7_0 $(ARTIFACTS_STAMP) $(APE_BUILD_STAMP) $(DEV_ARTIFACTS_STAMP) $(PYTEST_WARM_STAMP)
	@true

# pytest's assertion-rewritten test modules (and plugins), cached as bytecode by one collection beside the
# compiles: otherwise each of the first `make test`'s workers rewrites and compiles all ~280 of them (~7 s of
# CPU each). Collection only imports; a module that cannot be imported yet is cached all the same.
$(PYTEST_WARM_STAMP): $(BIN)/.installed $(shell find tests devkit -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)
	-@PYTHONDONTWRITEBYTECODE= $(BIN)/pytest --collect-only -q -p no:cacheprovider >/dev/null 2>&1
	@mkdir -p .build && touch $@

demo: setup
	$(BIN)/stockpile demo

# Chromium and chromedriver from Debian for the tests that look at HTML in a real browser; the
# binaries themselves are the stamp (apt runs only when one is missing).
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

# pytest exits 5 when it collects nothing: that is a failure here too.
# In parallel: each xdist worker has its own in-process chain, anvil nodes (one per test module)
# and PostgreSQL server; they share the compiled artifacts made by `setup`. --dist loadfile keeps
# a module on one worker, so its module-scoped stack is deployed once. 4 workers on 2 cores: the
# suite waits on subprocesses and nodes much of the time (the rehearsal on 1 s blocks, the devnet,
# the demo, feeder daemons), and 2, 3 and 4 workers used the same CPU time.
# --no-loadscope-reorder keeps the order tests/conftest.py gives (longest files first, from
# tests/durations.json) instead of xdist's "most tests first", which started the long one-test
# files (state machines, the demo, the rehearsal on 1 s blocks) last.
TEST_WORKERS ?= 4
# PYTHONDONTWRITEBYTECODE is emptied for the run: pytest caches its assertion-rewritten test modules as
# .pyc files only when bytecode may be written, otherwise every xdist worker rewrites and compiles all
# ~300 of them again (~7 s of CPU per worker, measured).
test: setup browser
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The wheel and the sdist, with the product contracts' artifacts built from contracts/ (setup.py
# keeps test and bench contracts out). `build` makes the sdist, then the wheel from it, so the
# sdist is checked to be complete; --no-isolation uses the pinned setuptools of the venv.
dist: $(BIN)/.installed $(ARTIFACTS_STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	@ls dist

# Slither has its own venv: its dependency solc-select installs a `solc` command that would
# shadow the project's solc-js shim in .venv/bin.
$(TOOLS)/.installed: requirements-tools.lock $(BIN)/.installed
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(BIN)/uv pip install --python $(TOOLS)/bin/python --quiet --compile-bytecode -r requirements-tools.lock
	touch $@

# Rerun only when a contract (or the tool set) changed.
$(SLITHER_STAMP): $(SOL_SOURCES) $(TOOLS)/.installed tools/slither/check $(SHIM_STAMP) node_modules/.installed
	SLITHER=$(TOOLS)/bin/slither tools/slither/check
	@mkdir -p $(@D) && touch $@

lint: $(BIN)/.installed $(SLITHER_STAMP)
	$(BIN)/ruff check
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

# A local network that stays up (python/stockpile/portal/README.md): `stockpile devnet down` stops it.
.PHONY: devnet
devnet: setup
	$(BIN)/stockpile devnet up

clean:
	rm -rf .build python/stockpile/contracts/artifacts .pytest_cache dist build
	find .ape-dependencies -mindepth 1 -not -name .gitignore -delete
