# The two set-up commands of the README: `make matrix` and `make test`.
# Everything installs into .venv from PyPI; nothing is assumed to be on the machine
# but python3 (>= 3.11).

VENV   ?= .venv
PY     := $(VENV)/bin/python
AM     := $(VENV)/bin/asgi-matrix
OUT    ?= out
JOBS   ?= 2
PYTEST ?= $(PY) -m pytest
# Test workers (pytest-xdist): real servers spend most of their time waiting, so two
# workers share two cores well; tests/conftest.py hands each worker whole modules.
WORKERS ?= 2

.PHONY: matrix test lint typecheck test-fast flaky soak bench bench-patterns bench-history bench-docker docker-matrix compose sample clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	UV_PYTHON_DOWNLOADS=never $(VENV)/bin/uv pip install -q --python $(PY) -e '.[test]'
	touch $@

## Run the default matrix on the local backend and build the dashboard into out/site.
matrix: $(VENV)/.installed
	$(AM) run --out $(OUT) --jobs $(JOBS)
	$(AM) site $(OUT)/results.json --out $(OUT)/site
	@echo "dashboard: $(OUT)/site/index.html (preview: $(AM) serve $(OUT)/site)"

## The same matrix in containers (docker backend), via docker-compose's matrix service.
## Offline-friendly: probe images and the runner's wheels are prepared on this host first.
BASE_IMAGE ?= asgi-matrix-base:bookworm
docker-matrix: $(VENV)/.installed
	@docker image inspect $(BASE_IMAGE) >/dev/null 2>&1 || sh probes/docker/build-base.sh bookworm
	$(AM) images --runner-wheels wheels
	ASGI_MATRIX_BASE=$(BASE_IMAGE) docker-compose build matrix
	mkdir -p $(OUT)
	ASGI_MATRIX_BASE=$(BASE_IMAGE) ASGI_MATRIX_UID=$$(id -u) ASGI_MATRIX_GID=$$(id -g) \
	  DOCKER_GID=$$(stat -c %g /var/run/docker.sock) docker-compose run --rm matrix
	@echo "dashboard: $(OUT)/site/index.html"

## Regenerate docker-compose.yml from the catalogue.
compose: $(VENV)/.installed
	$(AM) compose --out docker-compose.yml

## Re-record tests/data/results-sample.json, the run the report, results and site tests
## read: the controls and the mainstream servers, with the default app patterns. The
## tests take their expected values from the recording, so a re-record keeps them green.
SAMPLE_CONFIGS ?= control-multiloop control-broken control-nolifespan \
	uvicorn uvicorn-uvloop uvicorn-workers2 gunicorn-uvicorn-worker2 \
	hypercorn hypercorn-trio hypercorn-workers2 daphne \
	granian granian-workers2 granian-mt2
sample: $(VENV)/.installed
	rm -rf $(OUT)/sample
	nice -n 10 $(AM) run $(SAMPLE_CONFIGS) --out $(OUT)/sample --jobs $(JOBS)
	cp $(OUT)/sample/results.json tests/data/results-sample.json
	@echo "recorded tests/data/results-sample.json; now run: $(PYTEST) -m '' tests/report tests/results"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

## Every test: unit, real servers, containers, browser, soak. What cannot run says why.
test: lint typecheck
	@$(PYTEST) -m "" -ra -n $(WORKERS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$status

## Quick loop while developing: no soak, no cold image builds.
test-fast: $(VENV)/.installed
	$(PYTEST) -m "not soak and not cold" -ra -n $(WORKERS)

## The flake finder: each chosen test N times, each round a fresh pytest; every failure
## with its message, then "K of N passed" per test (.ci/flake_finder.py).
N ?= 30
flaky: $(VENV)/.installed
	@test -n "$(TESTS)" || { echo 'make flaky: name the tests: make flaky TESTS="tests/x.py::test_y" N=30' >&2; exit 2; }
	$(PY) .ci/flake_finder.py -n $(N) $(TESTS)

soak: $(VENV)/.installed
	$(PYTEST) -m soak -ra

bench: $(VENV)/.installed
	$(PY) bench/bench_matrix.py --jobs $(JOBS)

## A cold history run (every release set, fresh cache) next to its 15-minute bound.
## The pattern axis's cost: the matrix with and without the app patterns, same run.
bench-patterns: $(VENV)/.installed
	$(PY) bench/bench_patterns.py --jobs $(JOBS)

bench-history: $(VENV)/.installed
	$(PY) bench/bench_history.py --jobs $(JOBS)

## Image builds per Python, and the default matrix on the docker backend next to its floor.
bench-docker: $(VENV)/.installed
	$(PY) bench/bench_docker.py --jobs $(JOBS)

clean:
	rm -rf $(VENV) $(OUT) artifacts
