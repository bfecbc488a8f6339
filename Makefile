# svcnet: the two entry points are `make run` (demo) and `make test` (everything).
# Both install what they need: Debian packages (when missing) and a venv.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
APT_PKGS := iproute2 iputils-ping nftables iptables conntrack curl bind9-dnsutils procps
DATA ?= .data/demo

.PHONY: deps apt venv run test unit integration lint format bench clean

deps: apt venv

apt:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $@

run: deps
	DATA=$(DATA) scripts/run-demo.sh

lint: venv
	$(VENV)/bin/ruff check svcnet tests bench
	$(VENV)/bin/ruff format --check svcnet tests bench

format: venv
	$(VENV)/bin/ruff format svcnet tests bench
	$(VENV)/bin/ruff check --fix svcnet tests bench

test: deps lint
	$(VENV)/bin/pytest -q -p no:cacheprovider

unit: venv
	$(VENV)/bin/pytest -q tests/unit

integration: deps
	$(VENV)/bin/pytest -q tests/integration

bench: deps
	$(PY) bench/apiserver.py
	$(PY) bench/controllers.py

clean:
	rm -rf $(VENV) .data .pytest_cache .ruff_cache
