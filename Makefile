# Two commands on a fresh machine (python3 >= 3.11 with venv):
#   make demo   -> installs into .venv, plans the bundled example head
#   make test   -> installs into .venv, runs the test suite
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,postgres]"
	touch $@

.PHONY: install demo test serve bench
install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/navsvc demo --out navsvc-demo

# Two pytest-xdist workers (this machine's 2 cores): 18 min against 30 in one process.
# --dist loadscope keeps each module on one worker, so module fixtures (real plans) run once.
# Every test has its own database schema, Redis queue, port and folders, so workers never mix.
test: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 --dist loadscope --durations=20

serve: $(VENV)/.installed
	$(VENV)/bin/navsvc serve

bench: $(VENV)/.installed
	$(PY) benchmarks/plan_speed.py
