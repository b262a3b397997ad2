# The workshop on the CPU: Debian bookworm's Python 3.11, `make setup`, JupyterLab on notebooks/.
# CI builds and runs this file (`make images`, .ci/images.sh); the devcontainer builds it too.
#   docker build -t cnn-nlp-workshop .
#   docker run --rm -p 8888:8888 cnn-nlp-workshop            # then open the printed 127.0.0.1 URL
#   docker run --rm cnn-nlp-workshop make test                # the test suite, as CI runs it
# It builds for linux/amd64 and linux/arm64 (an Apple-silicon Mac, Graviton): `make images PLATFORMS=...`.
# BASE: any Debian bookworm image; its own python3 is 3.11, which MXNet 1.9.1 accepts.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# Python 3.11 with its headers and a C compiler (gluonnlp builds from source); make runs the set-up;
# ca-certificates for the data sets' https downloads. On arm64, OpenBLAS and LAPACKE too: MXNet's aarch64
# wheel links Arm Performance Libraries without bundling them, and `make setup` puts a stand-in that
# loads these beside libmxnet.so (scripts/armpl-standin.sh).
ARG DEBIAN_FRONTEND=noninteractive
ARG TARGETARCH
RUN apt-get update \
    && apt-get install --yes --no-install-recommends python3 python3-venv python3-dev build-essential \
       make git ca-certificates $(if [ "$TARGETARCH" = arm64 ]; then echo libopenblas0-openmp liblapacke; fi) \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 workshop
USER workshop
WORKDIR /home/workshop/cnn-nlp-workshop
# Every pinned package first, in a layer that only a change of the pins (or of the Makefile) rebuilds;
# GPU=0: this image is the CPU one. Then the image checks that MXNet computes: a convolution, its
# gradient and a matrix product against numpy.
COPY --chown=workshop:workshop Makefile ./
COPY --chown=workshop:workshop requirements/ requirements/
COPY --chown=workshop:workshop scripts/find-python.sh scripts/select-stack.sh scripts/armpl-standin.sh \
     scripts/check_mxnet.py scripts/
RUN make dependencies GPU=0 && rm -rf /home/workshop/.cache/pip && .venv/bin/python scripts/check_mxnet.py

# Then the project itself: the package (editable), the notebooks, the Jupyter kernel.
COPY --chown=workshop:workshop . .
RUN make setup GPU=0 && rm -rf /home/workshop/.cache/pip

ENV WORKSHOP_QUICK=1
EXPOSE 8888
CMD [".venv/bin/jupyter", "lab", "--ServerApp.root_dir=notebooks", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
