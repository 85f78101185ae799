# The two commands: `make run` and `make test`. Both set everything up first and are
# quick when nothing changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# torch for the SenseVoice extra. Override for a CUDA build, e.g.
# make setup TORCH_SPEC='torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128'
TORCH_SPEC ?= torch==2.13.0

.PHONY: run test test-fast check lint setup models web bench clean golden unity-test portability

run: setup
	$(BIN)/avatar-driver serve

# Everything: the habits (check), both lanes, the other CPUs' kernels, the viewer, Unity.
test: setup
	$(MAKE) check
	$(BIN)/python -m pytest -q
	$(MAKE) portability
	@if [ -f web_avatar/package.json ]; then $(MAKE) -C web_avatar test; fi
	AVATAR_DRIVER=$(BIN)/avatar-driver bash 'unity_client/Tools~/test.sh'

# The fast lane (under a minute on 2 cores): lint, the layer contracts and tests/unit, a test
# module per CPU at a time (pytest-xdist); property tests at a tenth of their cases.
test-fast: $(STAMP) models
	$(MAKE) lint
	HYPOTHESIS_PROFILE=fast $(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadfile tests/unit

# Lint, format, layers; the type checkers (mypy, tsc) besides in `make check`.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

check: lint
	$(BIN)/mypy
	@if [ -f web_avatar/package.json ]; then $(MAKE) -C web_avatar typecheck; fi

# The wire tests again under other CPUs' OpenBLAS kernels and other hash seeds: a fixture
# built from numbers a kernel computed would differ in the last bit (SkylakeX needs AVX-512).
portability: $(STAMP)
	OPENBLAS_CORETYPE=Haswell PYTHONHASHSEED=1 $(BIN)/python -m pytest -q -p no:cacheprovider -k "golden or protocol" tests
	@if grep -q avx512f /proc/cpuinfo 2>/dev/null; then \
		echo "OPENBLAS_CORETYPE=SkylakeX"; \
		OPENBLAS_CORETYPE=SkylakeX PYTHONHASHSEED=2 $(BIN)/python -m pytest -q -p no:cacheprovider -k "golden or protocol" tests; \
	fi

# The Unity package alone (Mono's mcs; Debian: mono-devel).
unity-test: setup
	AVATAR_DRIVER=$(BIN)/avatar-driver bash 'unity_client/Tools~/test.sh'

setup: $(STAMP) models web

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[dev,sensevoice]'
	touch $(STAMP)

models: $(STAMP)
	$(BIN)/avatar-driver models fetch

# The web viewer is built when web_avatar/ has one (npm ci from the lockfile; rebuilt when stale).
web: $(STAMP)
	@if [ -f web_avatar/package.json ]; then $(MAKE) -C web_avatar build; fi

bench: setup
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_mapping.py
	$(BIN)/python bench/bench_voice.py
	$(BIN)/python bench/eval_face_emotion.py
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_load.py --cluster nats --publishers 1,4 --watchers 200
	$(BIN)/python bench/bench_transports.py
	$(BIN)/python bench/bench_vmc.py
	$(BIN)/python bench/bench_speech_emotion.py
	$(BIN)/python bench/bench_lipsync.py
	$(BIN)/python bench/channel_ranges.py
	@if [ -d /usr/share/pocketsphinx/test/data/librivox ]; then $(BIN)/python bench/default_strategy.py; \
	else echo "bench/default_strategy.py skipped: apt install pocketsphinx-testdata"; fi

golden: $(STAMP)
	$(BIN)/python -m tests.golden.make_golden

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache test-output
