# The README's commands. Every target that needs the machine ready runs scripts/setup.sh first
# (idempotent: a few seconds when nothing is missing).
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
CELLS ?= 3000

.PHONY: demo test setup lint format bench serve demo-data demo-devices clean-demo

SIMULATE ?= 1

# The server and, beside it, the live simulator (reports, camera alerts, patrol GPS); SIMULATE=0 turns
# the simulator off. Demo devices and their keys (var/demo-devices.json, 0600) are created first.
demo: setup demo-data demo-devices
	@$(PY) manage.py gridops_banner --host $(HOST) --port $(PORT)
	@PY=$(PY) HOST=$(HOST) PORT=$(PORT) SIMULATE=$(SIMULATE) bash scripts/demo.sh

test: setup
	$(PY) -m pytest

setup:
	@bash scripts/setup.sh

demo-data:
	$(PY) manage.py geodata_demo --cells $(CELLS)
	$(PY) manage.py inspections_demo_load

demo-devices:
	$(PY) manage.py gridops_demo_devices

lint:
	@test -x .venv/bin/ruff || bash scripts/setup.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: setup
	$(PY) bench/routing.py
	$(PY) bench/intake.py
	$(PY) bench/statements.py
	$(PY) bench/ui.py
	$(PY) bench/replay.py
	$(PY) bench/retention.py
	$(PY) bench/planning.py
	$(PY) bench/tiles.py
	$(PY) bench/memory.py
	$(PY) bench/soak.py
	$(PY) bench/faults.py

serve:
	$(PY) manage.py gridops_serve --host $(HOST) --port $(PORT)
