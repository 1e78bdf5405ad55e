# The two commands of the README:
#   make demo   install what is needed, build a release binary, index a small real corpus, show it
#   make test   run every test (what CI runs)
SHELL := /bin/bash
APT_PACKAGES := libzstd-dev zlib1g-dev libsqlite3-dev libopenblas-dev pkg-config zstd sqlite3 python3 python3-venv bc time
NBENV := .build/nbenv
BIN := .build/release/tailscope
DEMO_INDEX := indexes/fortunes.sqlite

.PHONY: demo test deps build data bench clean notebook-env fuzz sanitize

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	swift build -c release

data: deps
	bash datasets/fetch_fortunes.sh

demo: build data
	rm -f $(DEMO_INDEX)
	$(BIN) index datasets/data/fortunes.jsonl.zst --orders 1-3 -o $(DEMO_INDEX)
	$(BIN) stats $(DEMO_INDEX)
	$(BIN) top $(DEMO_INDEX) --order 2 --limit 10
	$(BIN) count $(DEMO_INDEX) "the" "life" "the meaning of" "42"

# The notebooks' Python environment (pandas, matplotlib, nbclient), used by the notebook test.
notebook-env: $(NBENV)/.installed
$(NBENV)/.installed: notebooks/requirements.txt | deps
	python3 -m venv $(NBENV)
	$(NBENV)/bin/pip install -q --disable-pip-version-check -r notebooks/requirements.txt
	touch $@

test: deps data notebook-env
	swift build --build-tests
	swift test --skip-build
	bash Tests/slurm/slurm_test.sh

bench: build
	bash Benchmarks/run.sh

clean:
	rm -rf .build indexes/*.sqlite datasets/data

# libFuzzer over the parsers of untrusted bytes (JSON field scanner, tokenizer, CSV, zstd, gzip),
# FUZZ_SECONDS each, from the seed corpus in Tests/Fuzz/seeds; crashes land in .build-fuzz/crashes
# (replay one with `swift run tailscope-fuzz TARGET FILE`, then make it a test).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := json tokenizer csv zstd gzip
fuzz: deps
	swift build -c release --scratch-path .build-fuzz --sanitize=fuzzer -Xswiftc -DFUZZING -Xswiftc -parse-as-library --product tailscope-fuzz
	mkdir -p .build-fuzz/crashes
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$t; cp -n Tests/Fuzz/seeds/$$t/* .build-fuzz/corpus/$$t/ 2>/dev/null || true; \
	  TAILSCOPE_FUZZ_TARGET=$$t .build-fuzz/release/tailscope-fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    -artifact_prefix=.build-fuzz/crashes/$$t- .build-fuzz/corpus/$$t 2>&1 | grep -E "^(#[0-9]+ +DONE|Done|==|SUMMARY)" ; \
	done

# The test suite under ThreadSanitizer and AddressSanitizer, each in its own build folder.
sanitize: deps data notebook-env
	swift build --build-tests --scratch-path .build-tsan --sanitize=thread
	swift test --skip-build --scratch-path .build-tsan --sanitize=thread
	swift build --build-tests --scratch-path .build-asan --sanitize=address
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/lsan-suppressions.txt swift test --skip-build --scratch-path .build-asan --sanitize=address
