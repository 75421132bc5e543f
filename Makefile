# Lykta: `make demo` and `make test` work on a fresh machine with Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Every package of the runtime and the `test` extra, pinned with their hashes (`make lock`
# refreshes it from pyproject.toml, which keeps the lower bounds only).
LOCK := requirements/lock.txt

.PHONY: help install lock sysdeps lint test bench bench-quick demo demo-reset vectors clean \
        walkthrough fuzz mutation crash

help:
	@echo "make demo        set up instance/ and serve intake on 127.0.0.1:8080"
	@echo "make test        lint (ruff, mypy --strict) and run the whole test suite"
	@echo "make bench       run the benchmarks; results in bench/results/"
	@echo "make bench-quick a quick benchmark run (python -m bench.quick)"
	@echo "make fuzz        fuzz every route of the three apps (FUZZ_SEED, FUZZ_REQUESTS);"
	@echo "                 summary in bench/results/fuzz.md"
	@echo "make crash       the full crash test: 1,000 submissions to intake on PostgreSQL"
	@echo "                 while it is killed -9 (make test runs 300; CRASH_SUBMISSIONS)"
	@echo "make lint        ruff and mypy only"
	@echo "make lock        refresh $(LOCK) (pinned versions and hashes) from pyproject.toml"
	@echo "make mutation    mutation testing of crypto/ with mutmut (slow; MUTATE='crypto.kdf.*' for one module)"
	@echo "make demo-reset  delete all demo state under instance/"

# The dependencies (and the build backend) come from the lock file only, each checked
# against its pinned hashes; the project itself is then installed on top with that backend,
# without resolving or downloading anything again.
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Lykta needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
	  --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# Re-resolve the runtime and `test` dependencies and the build backend ([build-system]
# requires, read from pyproject.toml) to their newest releases within pyproject.toml's
# bounds, for the platform we run on (Linux x86_64, CPython 3.11), with the hashes of
# every file of each pinned release. uv is installed here only. The optional `mutation`
# extra is not locked (`make mutation` installs it on top).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'uv>=0.5'
	mkdir -p $(dir $(LOCK))
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", \
	  "rb"))["build-system"]["requires"]))' | \
	$(BIN)/uv pip compile pyproject.toml - --extra test --generate-hashes --upgrade --quiet \
	  --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	  --custom-compile-command 'make lock' -o $(LOCK)

# System packages that the suite or the benchmarks need, installed with apt-get when we
# run as root (as CI does) and they are missing: gpg for the benchmark baseline, Debian's
# Chromium (and a font) for the browser tests in tests/browser (Playwright cannot download
# its own browser here). axe-core, for the accessibility scan, comes from npm into the
# git-ignored .cache/axe.
sysdeps:
	@missing=""; \
	command -v gpg >/dev/null 2>&1 || missing="$$missing gnupg"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium fonts-dejavu-core"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	[ -f /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so ] || \
	  missing="$$missing libnginx-mod-http-headers-more-filter"; \
	[ -x /usr/sbin/tor ] || missing="$$missing tor"; \
	[ -x /usr/sbin/nft ] || missing="$$missing nftables"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	command -v systemd-analyze >/dev/null 2>&1 || missing="$$missing systemd"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing system packages:$$missing (gpg: make bench; chromium: tests/browser; postgresql, redis-server: the production-service tests; nginx, tor, nftables, openssl, systemd: the checks of ops/ in tests/ops)"; fi; \
	fi
	@if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then \
	  if command -v npm >/dev/null 2>&1; then \
	    npm install --prefix .cache/axe --no-audit --no-fund --silent axe-core@4; \
	  else echo "npm is missing: the accessibility tests in tests/browser need axe-core"; fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict crypto intake casework common scripts bench

# Two workers (one per core of the CI machine); a test file stays on one worker, so its
# module-scoped fixtures (a shared app, signed-in clients) are built once, and the files
# start in the order tests/conftest.py gives (longest first: --no-loadscope-reorder). Then
# the database-facing part (tests/postgresql.txt) again, every app database on PostgreSQL.
# ruff first (a second); mypy (a minute from a clean clone) runs beside the SQLite pass,
# whose workers often wait on servers and subprocesses, and its failure fails the target
# once that pass is over.
TEST_WORKERS ?= 2
PYTEST_XDIST := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
test: $(STAMP) sysdeps
	$(BIN)/ruff check .
	@mypy_log=$$(mktemp); \
	$(BIN)/mypy --strict crypto intake casework common scripts bench >$$mypy_log 2>&1 & \
	mypy_pid=$$!; \
	echo "mypy --strict runs beside the SQLite pass (pid $$mypy_pid)"; \
	$(BIN)/pytest $(PYTEST_XDIST) --durations=30; tests=$$?; \
	wait $$mypy_pid; mypy=$$?; echo "mypy --strict:"; cat $$mypy_log; rm -f $$mypy_log; \
	[ $$tests = 0 ] && [ $$mypy = 0 ]
	LYKTA_TEST_DATABASE=postgresql $(BIN)/pytest $(PYTEST_XDIST) \
	  $$(sed 's/#.*//' tests/postgresql.txt)

# The crash test at the issue's full size (tests/ops/test_crash.py; make test runs a
# 300-submission slice of it). CRASH_SEED replays a run's kill plan.
CRASH_SUBMISSIONS ?= 1000
crash: $(STAMP) sysdeps
	LYKTA_CRASH_SUBMISSIONS=$(CRASH_SUBMISSIONS) $(if $(CRASH_SEED),LYKTA_CRASH_SEED=$(CRASH_SEED)) \
	  $(BIN)/pytest -p no:cacheprovider -s tests/ops/test_crash.py

# Mutation testing of crypto/ (bench/results/mutation.md). mutmut runs in a throwaway copy
# outside the checkout, so its mutants/ directory never lands in the work tree; results
# stay there for `cd $(MUTATION_DIR) && mutmut results / show NAME`. One worker, niced, and
# at most 6 GB of address space, so a mutant that allocates without bound fails fast.
MUTATION_DIR ?= /tmp/lykta-mutation
MUTATE ?=
mutation: $(STAMP)
	$(BIN)/python -c 'import mutmut' 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,mutation]'
	@case "$(abspath $(MUTATION_DIR))" in /|$(CURDIR)|$(CURDIR)/*) \
	  echo "MUTATION_DIR must be outside the checkout"; exit 1;; esac
	rm -rf $(MUTATION_DIR) && mkdir -p $(MUTATION_DIR)/tests
	cp -r crypto pyproject.toml $(MUTATION_DIR)/
	cp -r tests/__init__.py tests/conftest.py tests/crypto $(MUTATION_DIR)/tests/
	find $(MUTATION_DIR) -name __pycache__ -prune -exec rm -rf {} +
	cd $(MUTATION_DIR) && ulimit -v 6000000 && LYKTA_MUTATION=1 nice -n 10 $(CURDIR)/$(BIN)/mutmut run \
	  --max-children 1 $(foreach m,$(MUTATE),'$(m)')
	cd $(MUTATION_DIR) && $(CURDIR)/$(BIN)/python $(CURDIR)/tests/crypto/mutation_report.py

bench: $(STAMP) sysdeps
	$(BIN)/python -m bench.crypto_bench
	$(BIN)/python -m bench.intake_bench
	$(BIN)/python -m bench.casework_bench
	$(BIN)/python -m bench.bridge_bench
	$(BIN)/python -m bench.scrub_bench
	$(BIN)/python -m bench.audit_bench
	$(BIN)/python -m bench.rekey_bench
	$(BIN)/python -m bench.statistics_bench
	$(BIN)/python -m bench.production_bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench.quick

# At least 100,000 malformed requests over every route of intake, casework (signed out,
# enrolling and as each role) and the sync app; seeded (printed) and reproducible.
fuzz: $(STAMP)
	FUZZ_REPORT=bench/results/fuzz.md $(BIN)/pytest -p no:cacheprovider -q -s \
	  --show-capture=no --tb=line tests/fuzz/full_run.py

demo: $(STAMP)
	$(BIN)/python -m scripts.demo

demo-reset:
	rm -rf instance

vectors: $(STAMP)
	$(BIN)/python scripts/make_vectors.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info

walkthrough: $(STAMP)
	$(BIN)/python scripts/walkthrough.py
