# Parcours: `make run` starts everything on 127.0.0.1, `make test` runs the whole suite.
SHELL := /bin/bash
STACK := deploy/stack.sh
PYTEST_ARGS ?=
BENCH_ARGS ?=
CHAOS_ARGS ?=

.PHONY: run down clean test test-unit status install infra bench chaos
run:            ## install what is missing, start PostgreSQL, Kafka and the three services
	@$(STACK) up

down:           ## stop everything (data stays in .data/)
	@$(STACK) down

clean:          ## stop everything and delete the data directory
	@$(STACK) clean

status:
	@$(STACK) status

install:
	@$(STACK) install

infra:
	@$(STACK) infra

test: run       ## the same set-up, then the whole suite against real PostgreSQL and Kafka
	@$(STACK) test_deps
	@mkdir -p test-artifacts
	@.venv/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-unit:      ## the unit tests alone (in-memory fakes: no PostgreSQL, no Kafka)
	@$(STACK) install_python
	@.venv/bin/python -m pytest -q -p no:cacheprovider tests/unit

bench: run      ## the stack as for `make run`, then the benchmarks (sizes: make bench BENCH_ARGS="--contracts 20000")
	@.venv/bin/python -m bench.run $(BENCH_ARGS)

chaos: install  ## kill -9 each component in turn under load, on a stack of its own (make chaos CHAOS_ARGS="--kills 20")
	@.venv/bin/python -m chaos $(CHAOS_ARGS)
