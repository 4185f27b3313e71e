# Exercise 3 report. Main job: `make report`. Tests: `make test`. Both set everything up.
# `make` alone lists the targets (it never starts a build).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= $(or $(EX3_PROFILE),full)
EXTRAS ?= $(or $(EX3_EXTRAS),0)
FORCE ?= 0
# make report SEED_OFFSET=n: every training and sampling seed shifted by n, the report built beside the committed one
SEED_OFFSET ?= $(or $(EX3_SEED_OFFSET),0)
PROFILES := full smoke
# only a known profile name reaches a shell command (no quoting surprises, no injected commands)
ifneq ($(words $(PROFILE)) $(filter $(PROFILE),$(PROFILES)),1 $(PROFILE))
$(error unknown profile "$(PROFILE)": choose one of $(PROFILES))
endif
ifeq ($(filter $(EXTRAS),0 1),)
$(error EXTRAS must be 0 or 1, got "$(EXTRAS)")
endif
ifeq ($(filter $(FORCE),0 1),)
$(error FORCE must be 0 or 1, got "$(FORCE)")
endif
SHARED_RAW := ../shared/data/MNIST/raw
RAW := data/MNIST/raw
DEBIAN_FASHION := /usr/share/datasets/fashion-mnist

# apt waits for a dpkg lock another process holds (unattended upgrades) instead of failing at once
APT := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
# every test run writes its models, runs and outputs into a fresh temporary folder (removed after)
HERMETIC = tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	EX3_PROFILE=smoke EX3_ARTIFACTS="$$tmp/artifacts" EX3_REPORT_ROOT="$$tmp" EX3_OUTPUT=

.PHONY: help report test check submission lab mnist data env latex bench clean-smoke
.DEFAULT_GOAL := help

help: ## list the targets (the default: `make` alone builds nothing)
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 22

report: env data latex ## run the notebooks whose inputs changed (FORCE=1: all) and export report/ex3.pdf
	EX3_PROFILE=$(PROFILE) EX3_EXTRAS=$(EXTRAS) EX3_SEED_OFFSET=$(SEED_OFFSET) $(PY) -m tools.build --profile $(PROFILE) $(if $(filter 1,$(FORCE)),--force)

test: env data latex ## the complete suite: unit + build tests, and every notebook once under nbmake (smoke)
	@$(HERMETIC) $(PY) -m pytest tests notebooks --nbmake --nbmake-kernel=ex3 --nbmake-timeout=600 -p no:cacheprovider --durations=12

check: env mnist ## the fast tier for iterating: tests that start no kernel, LaTeX or notebook (< 60 s)
	@$(HERMETIC) $(PY) -m pytest tests -m "not slow" -q -p no:cacheprovider

submission: env ## ex3_<ID1>_<ID2>.zip (code, executed notebooks, ex3.pdf, README with names) from report/report.toml
	$(PY) -m tools.submission

lab: env data ## JupyterLab in the project's environment, at the project root (EX3_PROFILE=smoke make lab: quick runs)
	EX3_PROFILE=$(PROFILE) $(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(if $(filter 0,$(shell id -u)),--allow-root)

bench: env data ## speed benchmark -> report/benchmark.json
	$(PY) -m tools.bench

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml tools/export.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name ex3 --display-name "Python 3 (ex3)" > /dev/null
	$(PY) -m tools.export > /dev/null
	touch $@

mnist: ## copy the offline MNIST archives if they sit beside the checkout (never committed)
	@mkdir -p $(RAW)
	@if ls $(SHARED_RAW)/*.gz > /dev/null 2>&1; then \
		for f in $(SHARED_RAW)/*.gz; do [ -s $(RAW)/$$(basename $$f) ] || cp $$f $(RAW)/; done; \
		echo "MNIST archives copied from $(SHARED_RAW)"; \
	else echo "no $(SHARED_RAW): torchvision downloads MNIST on first use"; fi

data: mnist ## MNIST, and Fashion-MNIST from Debian for the appendix (never committed)
	@if [ -d $(DEBIAN_FASHION) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
		$(APT) install -y -q dataset-fashion-mnist > /dev/null 2>&1 || \
		{ $(APT) update -q > /dev/null && $(APT) install -y -q dataset-fashion-mnist > /dev/null; } || \
		echo "dataset-fashion-mnist not installable: torchvision downloads Fashion-MNIST on first use"; \
	else echo "no $(DEBIAN_FASHION) (apt-get install dataset-fashion-mnist as root): torchvision downloads Fashion-MNIST on first use"; fi

LATEX_PACKAGES := texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc

latex: ## xelatex + pandoc for the PDF (and its tests); installed with apt when possible, else HTML only
	@if command -v xelatex > /dev/null && command -v pandoc > /dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
		echo "installing $(LATEX_PACKAGES) with apt (about a minute)"; \
		$(APT) update -q > /dev/null && $(APT) install -y -q $(LATEX_PACKAGES) > /dev/null; \
	elif command -v sudo > /dev/null && sudo -n true 2> /dev/null; then \
		sudo $(APT) update -q > /dev/null && sudo $(APT) install -y -q $(LATEX_PACKAGES) > /dev/null; \
	else echo "WARNING: xelatex/pandoc missing and cannot be installed (not root, no sudo):" \
		"the build writes report/ex3.html instead of report/ex3.pdf"; fi

clean-smoke:
	rm -rf report/smoke figures/smoke artifacts/smoke
