# Vigil — the commands a developer and CI use. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# The virtualenv lives outside the clone, keyed by the dependency list, so a fresh clone
# (CI's) reuses it and a change to pyproject.toml or sdk/pyproject.toml builds a new one from scratch.
VENV_ROOT ?= $(HOME)/.cache/vigil
VENV ?= $(VENV_ROOT)/venv-$(shell cat pyproject.toml sdk/pyproject.toml | sha256sum | cut -c1-16)
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

.PHONY: help install run test lint format bench bench-api bench-cameras bench-live eval eval-anpr services system-packages docs chaos

help:
	@echo "make install  create the virtualenv ($(VENV)) and system packages"
	@echo "make run      start API :8000, one worker and Flower :5555 (Ctrl-C stops all)"
	@echo "make test     run every test against real Postgres, Redis and a worker"
	@echo "make lint     ruff (lint + format check) and mypy"
	@echo "make docs     build the manual (docs/, mkdocs.yml) into site/"
	@echo "make bench    every speed and memory goal next to its baseline, measured in one run"
	@echo "make bench-api  status polls under load (wrk), next to a bare FastAPI app"
	@echo "make bench-cameras  live-camera goals (start, latency, stall, failover, capacity, leaks)"
	@echo "make bench-live  live view goals (first frame, glass to glass, drift, CPU per viewer, console)"
	@echo "make eval     measure detector accuracy on ../shared/datasets and media"
	@echo "make eval-anpr  plate reading accuracy and latency on ../shared/datasets/plates-us-dev"
	@echo "make chaos    restart Redis and Postgres, kill the worker, fill the storage under real jobs"

$(VENV)/.deps-installed:
	@echo "==> creating $(VENV) (first run on this machine: a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --python $(BIN)/python -r pyproject.toml -r sdk/pyproject.toml --all-extras
	touch $@
	@# Keep the two newest environments; each holds a full torch.
	@ls -dt $(VENV_ROOT)/venv-* | tail -n +3 | xargs -r rm -rf

install: $(VENV)/.deps-installed system-packages
	@# Re-pointed at this clone every time: the cached venv outlives any one checkout.
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e . -e ./sdk

# The RTSP test camera (tests/fixtures/rtsp_server.py): ffmpeg cannot serve RTSP, GStreamer's
# RTSP server can, and it runs on the system python3 because PyGObject is not in the venv.
GST_PACKAGES := python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-tools
# Every element the camera's pipelines use, so a partial install counts as missing.
GST_CHECK := import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); \
	from gi.repository import Gst, GstRtspServer; Gst.init(None); \
	missing = [e for e in ('filesrc', 'matroskademux', 'h264parse', 'appsink', 'appsrc', \
	'openh264enc', 'rtph264pay') if Gst.ElementFactory.find(e) is None]; \
	raise SystemExit(1 if missing else 0)

system-packages:
	@command -v ffprobe >/dev/null && command -v docker-compose >/dev/null || { \
		echo "==> installing ffmpeg and docker-compose (apt)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg docker-compose >/dev/null; }
	@# Debian's chromium for the console's browser tests (nothing can download a browser build),
	@# coturn for the live view's TURN test.
	@command -v chromium >/dev/null && command -v turnserver >/dev/null || { \
		echo "==> installing chromium and coturn (apt)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium coturn >/dev/null; }
	@# wrk drives the API's load benchmark (make bench-api).
	@command -v wrk >/dev/null || { \
		echo "==> installing wrk (apt)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends wrk >/dev/null; }
	@/usr/bin/python3 -c "$(GST_CHECK)" >/dev/null 2>&1 || { \
		echo "==> installing GStreamer's RTSP server for the test camera (apt)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $(GST_PACKAGES) >/dev/null; }

# The web console's pictures in the manual and the README (docs/images/console-*.png), taken by
# its browser tests in headless Chromium.
.PHONY: screenshots
screenshots: install services
	VIGIL_SCREENSHOT_DIR=docs/images $(BIN)/python -m pytest tests/browser -q

# Tests need the local Postgres and Redis; start them if they are down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

run: install
	$(BIN)/python -m shared.ops.devstack

test: install services
	$(BIN)/python -m pytest

# --strict: a broken link or anchor, or a page missing from the nav, fails the build.
docs: install
	$(BIN)/mkdocs build --strict

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api worker shared live sdk/vigil_sdk bench tests

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install services
	$(BIN)/python -m bench

# Its own database, Redis db 13 and stack (API with one process per core): about a minute.
bench-api: install services
	$(BIN)/python -m bench.api_status

# Its own database, Redis db 10, RTSP test cameras, API and two camera runners: 2-3 minutes.
bench-cameras: install services
	$(BIN)/python -m bench.cameras

# Its own database, Redis db 9, the stamped RTSP camera, API, runner, live service and headless
# Chromium: about 14 minutes, ten of them the drift soak (BENCH_LIVE_ARGS="--soak-s 120" for less).
bench-live: install services
	$(BIN)/python -m bench.live $(BENCH_LIVE_ARGS)

eval: install
	$(BIN)/python -m bench.eval

eval-anpr: install
	$(BIN)/python -m bench.eval_anpr

# Its own Redis, Postgres cluster and tmpfs (root, for mount and runuser): a few minutes.
chaos: install
	$(BIN)/python -m bench.chaos
