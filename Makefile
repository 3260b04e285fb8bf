# The two entry points of the README:
#   make demo  - install what is missing, build vortexc (Release) into build/,
#                compile every bundled example
#   make test  - install what is missing, then the whole test suite three ways:
#                build/ (Release, -Werror), build-asan/ (ASan + UBSan, leaks
#                fail), build-fuzz/ (clang + libFuzzer, ~60 s smoke run)
# CI (.ci/run) runs exactly `make test`.

JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECS  ?= 60
# Ninja for fresh build trees; an existing tree keeps its generator.
generator   = $(if $(wildcard $(1)/CMakeCache.txt),,-G Ninja)

.PHONY: all deps build demo gpu-prepare test test-release test-asan test-fuzz clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B build $(call generator,build) -DCMAKE_BUILD_TYPE=Release -DVX_WERROR=ON
	cmake --build build -j $(JOBS)

# Every example to optimised IR (.vir) and standalone CUDA (.cu + .h). MLA
# algorithms take the GLM-4.7-Flash geometry from its config.json (20 heads,
# latent 512 + 64, page 64); the others the default GQA target.
demo: build
	@mkdir -p build/examples
	@set -e; for f in examples/*.vtx; do \
	  name=$$(basename $$f .vtx); geo=""; \
	  if grep -q 'kv mla' $$f; then geo="--model-config=examples/models/glm-4.7-flash.json --page-size=64"; fi; \
	  build/compiler/vortexc $$f $$geo --emit=ir -o build/examples/$$name.vir; \
	  build/compiler/vortexc $$f $$geo -o build/examples/$$name.cu; \
	  echo "compiled $$f -> build/examples/$$name.{vir,cu,h}"; \
	done

# Inputs of scripts/gpu_all.sh (run on the GPU machine): every GPU test case
# of tests/gpu/codegen and the step benchmark's kernels, emitted here.
gpu-prepare: build
	tests/gpu/codegen/gen_prepare.sh build/compiler/vortexc
	VORTEXC=build/compiler/vortexc bash bench/step/prepare.sh

test: test-release test-asan test-fuzz
	@echo "make test: all suites passed"

# GPU tests need the lent H200 (`ctest -L gpu` there); everything else runs here.
test-release: build
	ctest --test-dir build --output-on-failure -j $(JOBS) -LE '^(gpu|fuzz)$$'

test-asan: deps
	cmake -S . -B build-asan $(call generator,build-asan) -DCMAKE_BUILD_TYPE=Debug \
	  -DVX_SANITIZE=ON -DVX_WERROR=ON
	cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir build-asan --output-on-failure -j $(JOBS) -LE '^(gpu|fuzz|nvrtc)$$'

test-fuzz: deps
	CC=clang cmake -S . -B build-fuzz $(call generator,build-fuzz) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_COMPILER=clang -DVX_FUZZ=ON -DVX_SANITIZE=ON -DVX_CUDA=OFF -DVX_FUZZ_SECONDS=$(FUZZ_SECS)
	cmake --build build-fuzz -j $(JOBS) --target vx_fuzzers
	ctest --test-dir build-fuzz --output-on-failure -j $(JOBS) -L '^fuzz$$'

clean:
	rm -rf build build-asan build-fuzz
