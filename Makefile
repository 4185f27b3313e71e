# Exercise 3 report. Main job: `make report`. Tests: `make test`. Both set everything up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= $(or $(EX3_PROFILE),full)
EXTRAS ?= $(or $(EX3_EXTRAS),0)
PROFILES := full smoke
# only a known profile name reaches a shell command (no quoting surprises, no injected commands)
ifneq ($(words $(PROFILE)) $(filter $(PROFILE),$(PROFILES)),1 $(PROFILE))
$(error unknown profile "$(PROFILE)": choose one of $(PROFILES))
endif
ifeq ($(filter $(EXTRAS),0 1),)
$(error EXTRAS must be 0 or 1, got "$(EXTRAS)")
endif
SHARED_RAW := ../shared/data/MNIST/raw
RAW := data/MNIST/raw
DEBIAN_FASHION := /usr/share/datasets/fashion-mnist

.PHONY: report test lab data env latex bench clean-smoke

report: env data latex ## execute every notebook (papermill) and export report/ex3.pdf
	EX3_PROFILE=$(PROFILE) EX3_EXTRAS=$(EXTRAS) $(PY) -m tools.build --profile $(PROFILE)

test: env data ## unit tests + every notebook under nbmake in the smoke profile
	EX3_PROFILE=smoke $(PY) -m pytest tests notebooks --nbmake --nbmake-kernel=ex3 --nbmake-timeout=600 -p no:cacheprovider

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

data: ## copy the offline MNIST archives if they sit beside the checkout; Fashion-MNIST from Debian (never committed)
	@mkdir -p $(RAW)
	@if ls $(SHARED_RAW)/*.gz > /dev/null 2>&1; then \
		for f in $(SHARED_RAW)/*.gz; do [ -s $(RAW)/$$(basename $$f) ] || cp $$f $(RAW)/; done; \
		echo "MNIST archives copied from $(SHARED_RAW)"; \
	else echo "no $(SHARED_RAW): torchvision downloads MNIST on first use"; fi
	@if [ -d $(DEBIAN_FASHION) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist > /dev/null 2>&1 || \
		{ apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist > /dev/null; } || \
		echo "dataset-fashion-mnist not installable: torchvision downloads Fashion-MNIST on first use"; \
	else echo "no $(DEBIAN_FASHION) (apt-get install dataset-fashion-mnist as root): torchvision downloads Fashion-MNIST on first use"; fi

latex: ## xelatex + pandoc for the PDF; installed with apt when possible, else HTML only
	@if command -v xelatex > /dev/null && command -v pandoc > /dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc; \
	elif command -v sudo > /dev/null && sudo -n true 2> /dev/null; then \
		sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc; \
	else echo "WARNING: xelatex/pandoc missing and cannot be installed (not root, no sudo):" \
		"the build writes report/ex3.html instead of report/ex3.pdf"; fi

clean-smoke:
	rm -rf report/smoke figures/smoke artifacts/smoke
