# Paved: `make run` starts the whole suite, `make test` runs the tests. Both install what they need.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS ?= never
# uv: the one on PATH if any, else a project-local copy in .tools/ (a venv of the system python3, so it works
# where pip refuses to install into the system, PEP 668), found again by every later make.
TOOLS := .tools
UV_VERSION := 0.13.9
ifndef UV
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/$(TOOLS)/bin/uv)
endif
# Recipes (and the tests they run) find that uv on PATH.
export PATH := $(dir $(UV)):$(PATH)
BUF := npx --yes @bufbuild/buf
PROTO_OUT := libs/contracts/src
GOOGLEAPIS := third_party/googleapis

.PHONY: help uv install run test lint buf-lint proto proto-deps proto-check bench clean

help: ## list the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 22

uv: ## install uv into .tools/ unless one is already on PATH
	@test -x "$(UV)" || { python3 -m venv $(TOOLS) && $(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"; }

install: uv ## create .venv with the locked dependencies (uv sync --frozen), compiled to bytecode
	@# Compiled once here, as the image does (UV_COMPILE_BYTECODE): otherwise a process that may not write
	@# __pycache__ (PYTHONDONTWRITEBYTECODE, a read-only tree) compiles SQLAlchemy, pydantic... at every
	@# start, a second of CPU per service. Later runs only check that the compiled files are current.
	$(UV) sync --frozen --compile-bytecode
	@# Our own packages are editable installs, which uv leaves as source: compile them too (stale files are
	@# recompiled in memory until the next install, so an edit never runs old code), ~150 ms per start.
	.venv/bin/python -m compileall -q -j0 libs/*/src services/*/src

run: install ## install, then start the whole suite (paved up) until Ctrl-C; UP_ARGS=... to pass options
	.venv/bin/paved up $(UP_ARGS)

test: install test-backstage ## install, then run the tests (PYTEST_ARGS=... to pass options)
	$(UV) run pytest $(PYTEST_ARGS)

# Backstage packages (deploy/backstage): one npm workspace, installed from its lock file.
BACKSTAGE := deploy/backstage
.PHONY: backstage-install test-backstage

$(BACKSTAGE)/node_modules/.paved-installed: $(BACKSTAGE)/package-lock.json
	@# better-sqlite3 compiles when no prebuilt binary can be fetched: use the system's node headers
	@# rather than downloading them.
	cd $(BACKSTAGE) && $(if $(wildcard /usr/include/node/node.h),npm_config_nodedir=/usr) npm ci --no-audit --no-fund
	touch $@

backstage-install: $(BACKSTAGE)/node_modules/.paved-installed ## npm ci of the Backstage packages (node 20)

test-backstage: backstage-install ## build (tsc: typecheck) and unit-test the Backstage modules and the e2e backend
	cd $(BACKSTAGE) && npm run build && npm test

lint: install buf-lint ## ruff, mypy, import-linter, buf lint and format
	$(UV) run ruff check --no-cache .
	$(UV) run ruff format --check --no-cache .
	$(UV) run mypy libs/kit/src libs/client/src services/*/src
	$(UV) run lint-imports

proto-deps: install ## copy the googleapis protos the contracts import into third_party/
	@rm -rf $(GOOGLEAPIS) && mkdir -p $(GOOGLEAPIS)/google
	@site=$$($(UV) run python -c 'import google.rpc, os; print(os.path.dirname(os.path.dirname(google.rpc.__path__[0])))'); \
	for d in api rpc type longrunning; do mkdir -p $(GOOGLEAPIS)/google/$$d; cp $$site/google/$$d/*.proto $(GOOGLEAPIS)/google/$$d/; done
	@# the package ships google/longrunning/operations.proto renamed operations_proto.proto; its descriptor
	@# keeps the canonical name, so restore it for imports to line up.
	@mv $(GOOGLEAPIS)/google/longrunning/operations_proto.proto $(GOOGLEAPIS)/google/longrunning/operations.proto

buf-lint: proto-deps ## buf lint and buf format of proto/ (needs node: npx)
	$(BUF) lint
	$(BUF) format -d --exit-code proto

proto: proto-deps ## regenerate libs/contracts from proto/
	find $(PROTO_OUT)/paved -name '*_pb2*.py*' -delete
	$(UV) run python -m grpc_tools.protoc -I proto -I $(GOOGLEAPIS) \
		--python_out=$(PROTO_OUT) --pyi_out=$(PROTO_OUT) --grpc_python_out=$(PROTO_OUT) \
		$$(find proto/paved -name '*.proto' | sort)
	for d in $$(find $(PROTO_OUT)/paved -type d); do [ -f $$d/__init__.py ] || touch $$d/__init__.py; done

proto-check: proto ## fail when the committed contracts differ from proto/
	git diff --exit-code -- $(PROTO_OUT) || { echo "generated contracts are stale: run 'make proto' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- $(PROTO_OUT))" || { git status --porcelain -- $(PROTO_OUT); echo "generated contracts are stale: run 'make proto' and commit"; exit 1; }

bench: install ## run the benchmarks under tests/benchmarks/
	@for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(UV) run python $$f || exit 1; done

clean: ## remove the local suite's data (.paved/), the copied protos and the tools venv
	rm -rf .paved $(GOOGLEAPIS) $(TOOLS)
