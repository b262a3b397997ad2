# One trained model behind MXNet Model Server, with the live-demo page: the talk's "package the model
# behind a web API in a container". CI builds and runs it (`make images`, .ci/images.sh).
#   docker build -f docker/serve.Dockerfile -t cnn-nlp-serve .
#   docker run --rm -p 127.0.0.1:8080:8080 -p 127.0.0.1:8082:8082 cnn-nlp-serve
#   then open http://localhost:8082/ (the page), or POST {"text": "..."} to http://localhost:8080/predictions/crepe
#   (or to http://localhost:8082/predictions/crepe: the page's port forwards it); GET :8082/ready says when a
#   worker is ready (the image's HEALTHCHECK asks it). The page posts to its own origin, so it works under any
#   host name or remapped port. The server's log lines go to the console (`docker logs`).
# MODEL: a model directory inside the build context; by default the trained workshop Crepe that ships in
# models/workshop-crepe-ag-news (it has read real AG News headlines). For your own, e.g. a run in runs/
# (which is in .dockerignore), copy it under models/ first: --build-arg MODEL=models/my-run.
# The management API is a Unix socket inside the container, never on TCP; only predictions and the page are published.
# Two stages: the first compiles (gluonnlp builds from source) a virtual environment with only what serving
# needs and packages the model into an archive; the second holds Python, a headless Java runtime (the
# server's frontend), tini, that environment and the archive: no compiler, no repository.
# podman keeps HEALTHCHECK only in the docker image format: `podman build --format docker` (make images does).
ARG BASE=debian:bookworm-slim
FROM ${BASE} AS build

ARG DEBIAN_FRONTEND=noninteractive
# On arm64, OpenBLAS and LAPACKE too: MXNet's aarch64 wheel links Arm Performance Libraries without
# bundling them, and a stand-in beside libmxnet.so loads these instead (scripts/armpl-standin.sh).
ARG TARGETARCH
RUN apt-get update \
    && apt-get install --yes --no-install-recommends python3 python3-venv python3-dev build-essential \
       ca-certificates $(if [ "$TARGETARCH" = arm64 ]; then echo libopenblas0-openmp liblapacke; fi) \
    && rm -rf /var/lib/apt/lists/*

# The same pins as `make setup` (requirements/), for serving only: MXNet, numpy, gluonnlp, the server and
# its archiver; not JupyterLab, selenium, matplotlib or the test tools.
WORKDIR /src
COPY requirements/ requirements/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --quiet --disable-pip-version-check -r requirements/build.txt \
    && /opt/venv/bin/pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps \
       "$(grep -E '^gluonnlp==' requirements/base.txt)" \
    && grep -hE '^(numpy|mxnet|multi-model-server|model-archiver)==' requirements/base.txt requirements/cpu.txt \
       >/tmp/serving.txt \
    && /opt/venv/bin/pip install --quiet --disable-pip-version-check -r /tmp/serving.txt \
       -c requirements/constraints.txt
COPY scripts/armpl-standin.sh scripts/check_mxnet.py scripts/
RUN if [ "$TARGETARCH" = arm64 ]; then sh scripts/armpl-standin.sh /opt/venv/lib/python3.11/site-packages/mxnet; fi \
    && /opt/venv/bin/python scripts/check_mxnet.py
COPY pyproject.toml README.md ./
COPY crepe/ crepe/
RUN /opt/venv/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation . \
    && /opt/venv/bin/pip uninstall --quiet --yes Cython wheel \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
    && rm -rf /opt/venv/lib/python3.11/site-packages/mxnet/include

ARG MODEL=models/workshop-crepe-ag-news
COPY ${MODEL} /src/model
RUN /opt/venv/bin/python -m crepe package --model /src/model --out /opt/crepe.mar \
    && chmod 644 /opt/crepe.mar \
    && /opt/venv/bin/python -m pip uninstall --quiet --yes pip \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib/python3.11/site-packages

FROM ${BASE}
ARG DEBIAN_FRONTEND=noninteractive
ARG TARGETARCH
# python3-distutils: MXNet 1.9.1 imports distutils; libgomp1 (and on amd64 libquadmath0, which arm64 does not
# have): its library links them; on arm64 OpenBLAS and LAPACKE, for the stand-in. tini: PID 1, which reaps
# what the server leaves.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends python3 python3-distutils libgomp1 openjdk-17-jre-headless \
       tini $(if [ "$TARGETARCH" = arm64 ]; then echo libopenblas0-openmp liblapacke; else echo libquadmath0; fi) \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/crepe.mar /opt/crepe.mar

RUN useradd --create-home --uid 1000 workshop
USER workshop
WORKDIR /home/workshop

EXPOSE 8080 8082
HEALTHCHECK --interval=5s --timeout=4s --start-period=120s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8082/ready', timeout=3)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/opt/venv/bin/python", "-m", "crepe", "serve", "--model", "/opt/crepe.mar", "--host", "0.0.0.0", \
     "--port", "8080", "--log-to-console"]
