# Two commands a user needs: `make lab` (set up, then open JupyterLab) and `make test`.
#   make lab            set up .venv if needed, register the Jupyter kernel, open JupyterLab on notebooks/
#   make test           the same set-up, then ruff over crepe/, unit tests, doctests and nbval over every notebook
#   make notebooks      re-execute every notebook and solution in place, each in a fresh kernel (quick mode)
#   make GPU=1 ...      force the GPU stack (mxnet-cu112); GPU=0 forces the CPU stack; default: auto
#                       (scripts/select-stack.sh: a GPU with sm_50-86 kernels and the CUDA 11 libraries)
#   make QUICK=0 ...    full-size data and epochs in the notebooks (instructors, GPU box)
SHELL := /bin/bash
VENV ?= .venv
GPU ?= auto
QUICK ?= 1
KERNEL := cnn-nlp-workshop
PY := $(VENV)/bin/python

ifeq ($(GPU),auto)
# By fact, not by the mere presence of nvidia-smi: a GPU MXNet 1.9.1 has kernels for, and CUDA 11.
STACK := $(shell sh scripts/select-stack.sh)
else ifneq ($(filter $(GPU),1 yes gpu),)
STACK := gpu
else
STACK := cpu
endif
OTHER_MXNET := $(if $(filter gpu,$(STACK)),mxnet,mxnet-cu112)
STAMP := $(VENV)/.installed-$(STACK)
DEPS := $(VENV)/.dependencies-$(STACK)

PYTEST_ARGS ?=
TEST_PATHS := tests crepe notebooks

.PHONY: setup dependencies lab test notebooks clean
setup: $(STAMP)
# Every pinned package, without the project itself: the images install these in a layer of their own,
# which a change to the code does not rebuild.
dependencies: $(DEPS)

$(DEPS): requirements/base.txt requirements/build.txt requirements/$(STACK).txt requirements/constraints.txt \
         scripts/armpl-standin.sh Makefile
	@test -x $(PY) || { python=$$(sh scripts/find-python.sh) && echo "creating $(VENV) with $$python" && "$$python" -m venv $(VENV); }
	@rm -f $(VENV)/.installed-* $(VENV)/.dependencies-*
	@if $(PY) -m pip show --quiet $(OTHER_MXNET) >/dev/null 2>&1; then $(PY) -m pip uninstall --yes --quiet $(OTHER_MXNET); fi
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/build.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps \
	    "$$(grep -E '^gluonnlp==' requirements/base.txt)" || { echo "gluonnlp is built from source: it needs a C compiler and the Python headers (Debian/Ubuntu: apt install build-essential python3-dev; macOS: xcode-select --install). See README, Which way to run it."; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/$(STACK).txt -c requirements/constraints.txt
	@# aarch64 Linux: the MXNet wheel needs Arm Performance Libraries, which it does not bundle; a stand-in
	@# beside libmxnet.so (its run path is $$ORIGIN) brings OpenBLAS instead (scripts/armpl-standin.sh).
	@if [ "$$(uname -s)/$$(uname -m)" = Linux/aarch64 ]; then \
	    sh scripts/armpl-standin.sh "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mxnet"; fi
	$(PY) -c "import mxnet" || { echo "MXNet does not import in $(VENV); see README, Which way to run it"; exit 1; }
	@touch $@

$(STAMP): $(DEPS) pyproject.toml
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "CNNs for NLP (MXNet 1.9.1, $(STACK))" \
	    --env OMP_NUM_THREADS $$(nproc) >/dev/null
	@touch $@
	@echo "set-up done: $(VENV) with the $(STACK) stack, Jupyter kernel '$(KERNEL)'"

# Jupyter refuses to start as root unless told; workshop GPU boxes are often containers running as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	WORKSHOP_QUICK=$(QUICK) $(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(ALLOW_ROOT)

test: setup
	$(VENV)/bin/ruff check crepe
	WORKSHOP_QUICK=1 $(PY) -m pytest $(TEST_PATHS) $(PYTEST_ARGS)

notebooks: setup
	@for nb in notebooks/[0-9]*.ipynb notebooks/solutions/[0-9]*.ipynb; do \
	    echo "executing $$nb"; \
	    WORKSHOP_QUICK=$(QUICK) $(VENV)/bin/jupyter nbconvert --log-level=WARN --to notebook --execute --inplace \
	        --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=$(KERNEL) "$$nb" || exit 1; \
	done

# Container images (README, "Which way to run it"): `make images` builds the workshop image and the serving
# image; `make image-test` runs `make test` in the former.
#   ENGINE        docker or podman
#   ENGINE_FLAGS  extra flags for its build and run (a network, mounts: .ci/images.sh sets this machine's)
#   BASE          the Debian bookworm image both Dockerfiles build on (their build argument); for several
#                 platforms, an image (or manifest list) that has each of them
#   PLATFORMS     empty: this machine's platform; or e.g. linux/amd64,linux/arm64: each image becomes one
#                 manifest list with both (podman: --manifest; docker: buildx, which needs the containerd
#                 image store to --load it)
ENGINE ?= docker
ENGINE_FLAGS ?=
BASE ?= debian:bookworm-slim
PLATFORMS ?=
PODMAN := $(filter podman,$(notdir $(ENGINE)))
# podman keeps the serving image's HEALTHCHECK only in the docker format (its default, OCI, drops it).
SERVE_FORMAT := $(if $(PODMAN),--format docker)
# $(call build,NAME): the start of the build command that makes image NAME for PLATFORMS.
ifeq ($(PLATFORMS),)
build = $(ENGINE) build
name = -t $(1)
else ifneq ($(PODMAN),)
build = $(ENGINE) manifest rm $(1) >/dev/null 2>&1; $(ENGINE) rmi --ignore --no-prune $(1) >/dev/null; $(ENGINE) build --platform $(PLATFORMS)
name = --manifest $(1)
else
build = $(ENGINE) buildx build --platform $(PLATFORMS) --load
name = -t $(1)
endif

.PHONY: images image-test
images:
	$(call build,cnn-nlp-workshop) $(ENGINE_FLAGS) --build-arg BASE=$(BASE) $(call name,cnn-nlp-workshop) .
	$(call build,cnn-nlp-serve) $(SERVE_FORMAT) $(ENGINE_FLAGS) --build-arg BASE=$(BASE) -f docker/serve.Dockerfile \
	    $(call name,cnn-nlp-serve) .

image-test: images
	$(ENGINE) run --rm $(ENGINE_FLAGS) cnn-nlp-workshop make test

clean:
	rm -rf $(VENV) .pytest_cache
