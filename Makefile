# Paved: `make run` starts the whole suite, `make test` runs the tests. Both install what they need.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS ?= never
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
BUF := npx --yes @bufbuild/buf
PROTO_OUT := libs/contracts/src
GOOGLEAPIS := third_party/googleapis

.PHONY: help uv install run test test-fast lint typecheck importlint buf-lint proto proto-deps proto-check bench clean

help:
	@echo "make run     install and start the whole suite (paved up)"
	@echo "make test    install and run the tests"
	@echo "make lint    ruff, mypy, import-linter, buf lint"
	@echo "make proto   regenerate the Python contracts from proto/"

uv:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --user --quiet uv

install: uv
	$(UV) sync --frozen

run: install
	$(UV) run paved up

test: install
	$(UV) run pytest $(PYTEST_ARGS)

lint: install buf-lint
	$(UV) run ruff check --no-cache .
	$(UV) run ruff format --check --no-cache .
	$(UV) run mypy libs/kit/src libs/client/src
	$(UV) run lint-imports

proto-deps: install
	@rm -rf $(GOOGLEAPIS) && mkdir -p $(GOOGLEAPIS)/google
	@site=$$($(UV) run python -c 'import google.rpc, os; print(os.path.dirname(os.path.dirname(google.rpc.__path__[0])))'); \
	for d in api rpc type longrunning; do mkdir -p $(GOOGLEAPIS)/google/$$d; cp $$site/google/$$d/*.proto $(GOOGLEAPIS)/google/$$d/; done
	@# the package ships google/longrunning/operations.proto renamed operations_proto.proto; its descriptor
	@# keeps the canonical name, so restore it for imports to line up.
	@mv $(GOOGLEAPIS)/google/longrunning/operations_proto.proto $(GOOGLEAPIS)/google/longrunning/operations.proto

buf-lint: proto-deps
	$(BUF) lint
	$(BUF) format -d --exit-code proto

proto: proto-deps
	find $(PROTO_OUT)/paved -name '*_pb2*.py*' -delete
	$(UV) run python -m grpc_tools.protoc -I proto -I $(GOOGLEAPIS) \
		--python_out=$(PROTO_OUT) --pyi_out=$(PROTO_OUT) --grpc_python_out=$(PROTO_OUT) \
		$$(find proto/paved -name '*.proto' | sort)
	for d in $$(find $(PROTO_OUT)/paved -type d); do [ -f $$d/__init__.py ] || touch $$d/__init__.py; done

proto-check: proto
	git diff --exit-code -- $(PROTO_OUT) || { echo "generated contracts are stale: run 'make proto' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- $(PROTO_OUT))" || { git status --porcelain -- $(PROTO_OUT); echo "generated contracts are stale: run 'make proto' and commit"; exit 1; }

bench: install
	@for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(UV) run python $$f || exit 1; done

clean:
	rm -rf .paved $(GOOGLEAPIS)
