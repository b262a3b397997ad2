# One trained model behind MXNet Model Server, with the live-demo page: the talk's "package the model
# behind a web API in a container". CI builds and runs it (`make images`, .ci/images.sh).
#   docker build -f docker/serve.Dockerfile -t cnn-nlp-serve .
#   docker run --rm -p 127.0.0.1:8080:8080 -p 127.0.0.1:8082:8082 cnn-nlp-serve
#   then open http://localhost:8082/ (the page), or POST {"text": "..."} to http://localhost:8080/predictions/crepe
#   (or to http://localhost:8082/predictions/crepe: the page's port forwards it); GET :8082/ready says when a
#   worker is ready. The page posts to its own origin, so it works under any host name or remapped port.
# MODEL: a model directory inside the build context; by default the trained workshop Crepe that ships in
# models/workshop-crepe-ag-news (it has read real AG News headlines). For your own, e.g. a run in runs/
# (which is in .dockerignore), copy it under models/ first: --build-arg MODEL=models/my-run.
# The management API is a Unix socket inside the container, never on TCP; only predictions and the page are published.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# Python 3.11 with its headers and a C compiler (gluonnlp builds from source), and the Java runtime of
# the server's frontend.
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install --yes --no-install-recommends python3 python3-venv python3-dev build-essential \
       make ca-certificates openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 workshop
USER workshop
WORKDIR /home/workshop/cnn-nlp-workshop
COPY --chown=workshop:workshop . .
RUN make setup GPU=0 && rm -rf /home/workshop/.cache/pip

ARG MODEL=models/workshop-crepe-ag-news
RUN cp -r "$MODEL" /home/workshop/model

EXPOSE 8080 8082
CMD [".venv/bin/python", "-m", "crepe", "serve", "--model", "/home/workshop/model", "--host", "0.0.0.0", \
     "--port", "8080"]
