# Thin façade: each recipe calls a real tool.  `make test` and `make run` bootstrap everything.
PY       ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
NODE     := node_modules/.package-lock.json
AWS_SDK  := node_modules/.cdn-gateway/client-s3.js
CHROMIUM := /usr/bin/chromium
PODMAN   := /usr/bin/podman
PROMETHEUS := /usr/bin/prometheus
POSTGRES := /usr/lib/postgresql/15/bin/initdb
CHECKOV_VENV := $(VENV)/checkov
CHECKOV  := $(CHECKOV_VENV)/bin/checkov

.PHONY: install test lint fmt run bench clean keys rotate-keys retire-keys deploy-check fuzz docs image

# Key commands use the gateway settings when there are any (make run writes .local/gateway.toml).
CONFIG   ?= $(firstword $(wildcard .local/gateway.toml))
KEYARGS  := $(if $(CONFIG),--config $(CONFIG),--keys keys)

install: $(STAMP) $(NODE) $(AWS_SDK) $(CHROMIUM) $(CHECKOV) $(PODMAN) $(PROMETHEUS) $(POSTGRES)

# One line per step; pip -qq and npm --loglevel=error still print every error.
$(STAMP): pyproject.toml
	@echo "installing Python packages into $(VENV) (pip)"
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -qq --upgrade pip
	@$(BIN)/python -m pip install -qq -e '.[test]'
	@touch $@

# Leaflet and the AWS SDK for JavaScript v3 for the demo pages, exactly as locked.
$(NODE): package.json package-lock.json
	@echo "installing Leaflet and the AWS SDK for JavaScript into node_modules (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

# The SDK's S3 client as one ES module for the browser: its ~30 packages import each other by bare
# name and swap in browser files through package.json "browser" fields, which no import map can
# express, so esbuild bundles it once; the gateway serves it at /demo/vendor/aws-sdk/.
$(AWS_SDK): $(NODE)
	@echo "bundling the AWS SDK's S3 client for the browser (esbuild)"
	@echo 'export { S3Client, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";' \
	  | node_modules/.bin/esbuild --bundle --format=esm --platform=browser --minify \
	    --log-level=warning --outfile=$@

# Debian's Chromium for the browser tests (no browser downloads here).
$(CHROMIUM):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

# Debian's podman (with runc, which runs where crun cannot: hybrid cgroups) and debootstrap: make
# image builds the container image on a Debian base made here, without an image registry.
$(PODMAN):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y podman runc debootstrap

# Debian's Prometheus: tests/deploy/test_grafana.py evaluates the dashboard's queries with it.
$(PROMETHEUS):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus

# Debian's PostgreSQL server: tests/sharing starts its own throwaway cluster on loopback with it.
$(POSTGRES):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql

test: install
	$(BIN)/python -m pytest -q

# Differential fuzzing of the edge against an independent model (tests/differential), with a fresh
# seed, for FUZZ_SECONDS; disagreements are written to test-artifacts/fuzz/.
FUZZ_SECONDS ?= 300
fuzz: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python -m tests.differential.fuzz

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check gateway devstack bench
	$(BIN)/mypy

# The settings reference in docs/configuration.md, rendered from the settings classes' docstrings
# (tests/unit/test_configuration_doc.py fails while it is stale).
docs: $(STAMP)
	$(BIN)/python -m devstack.configdoc

# checkov pins boto3 and cachetools below the gateway's: it gets a virtualenv of its own.
$(CHECKOV): deploy/cloudformation/checkov-requirements.txt
	@echo "installing checkov into $(CHECKOV_VENV) (pip)"
	@test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install -qq -r deploy/cloudformation/checkov-requirements.txt
	@touch $@

# Template lint, IAM policies (parliament: actions on resource types they do not have), checkov
# (each skip justified in the template), Kubernetes schemas.  tests/deploy runs the same.
deploy-check: $(STAMP) $(CHECKOV)
	$(BIN)/cfn-lint deploy/cloudformation/*.yaml
	$(BIN)/python -m deploy.cloudformation.iam_check deploy/cloudformation/*.yaml
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation -f deploy/cloudformation/*.yaml
	$(BIN)/kubernetes-validate --strict --quiet deploy/kubernetes/*.yaml deploy/kubernetes/rotation/*.yaml
	$(CHECKOV) --quiet --compact --skip-download --framework kubernetes -d deploy/kubernetes

fmt: $(STAMP)
	$(BIN)/ruff format gateway devstack bench
	$(BIN)/ruff check --fix .

# Benchmarks against the physical limit, measured in the same run (under 10 minutes).
WRK := /usr/bin/wrk
$(WRK):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y wrk

bench: $(STAMP) $(WRK)
	$(BIN)/python -m bench.run

# The whole stack on loopback; override with GATEWAY_PORT=, EDGE_PORT=, S3_PORT=, HOST=.
run: $(STAMP) $(NODE) $(AWS_SDK)
	$(BIN)/python -m devstack

# Create, publish, wait, switch: zero downtime.  Then, once old grants expired: retire-keys.
rotate-keys: $(STAMP)
	$(BIN)/cdn-gateway keys rotate $(KEYARGS)

retire-keys: $(STAMP)
	$(BIN)/cdn-gateway keys retire $(KEYARGS)

# The gateway's container image (deploy/docker/Dockerfile) on a debootstrapped Debian bookworm,
# built and kept by podman; tests/deploy/test_image.py builds it the same way and runs it.
IMAGE ?= localhost/cdn-gateway:dev
image: $(STAMP) $(PODMAN)
	$(BIN)/python -m deploy.docker.image build --tag $(IMAGE)

keys: $(STAMP)
	$(BIN)/cdn-gateway keys list $(KEYARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules test-artifacts
