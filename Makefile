# soilbiome: the two commands a user needs. Both set everything up first (idempotent).
SHELL := /bin/bash
OUTDIR ?= results/demo
PYTEST_ARGS ?=

.PHONY: setup demo test test-scale lint dist image clean

setup:
	@runtime/setup.sh

demo: setup
	.venv/bin/soilbiome run --profile test --outdir $(OUTDIR)

test: setup
	.venv/bin/pytest $(PYTEST_ARGS)

test-scale: setup
	.venv/bin/pytest -m scale $(PYTEST_ARGS)

dist: setup   # a wheel of the CLI (docs/install.md: the route without root, R or Nextflow)
	.venv/bin/pip wheel -q --no-deps -w dist .
	@ls dist/*.whl

image: setup  # the container image from Debian's archive (docs/install.md): .runtime/image/
	runtime/image/build.sh

lint: setup
	.venv/bin/ruff check src tests bench

clean:
	rm -rf results work .nextflow .nextflow.log* dist build
