# Entry points: `make run` starts the whole stack on embedded defaults, `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint bench install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/helpdesk db upgrade
	$(BIN)/helpdesk seed demo --if-empty
	@# The demo has four accounts: a threshold of 2 lets a newcomer try the four-eyes approval.
	MAILING_APPROVAL_THRESHOLD=$${MAILING_APPROVAL_THRESHOLD:-2} exec $(BIN)/helpdesk stack

test: $(STAMP)
	$(BIN)/pytest --ignore=tests/fuzz $(PYTEST_ARGS)

# schemathesis against the API, in-process; FUZZ_EXAMPLES bounds examples per operation.
fuzz: $(STAMP)
	$(BIN)/pytest tests/fuzz $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(STAMP)
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var
