# The workshop on an NVIDIA GPU: CUDA 11.2 + cuDNN 8 runtime, Python 3.11, mxnet-cu112 1.9.1.
#   docker build -f docker/gpu.Dockerfile -t cnn-nlp-workshop-gpu .
#   docker run --rm --gpus all -p 8888:8888 cnn-nlp-workshop-gpu
#   docker run --rm --gpus all cnn-nlp-workshop-gpu .venv/bin/python -m crepe doctor
# Compute capabilities it can serve: MXNet 1.9.1's GPU wheels carry kernels for sm_50, 60, 70, 80
# and 86, which run on 5.x, 6.x, 7.x (V100 7.0, T4 7.5), 8.x (A100 8.0, A10/RTX 30 8.6, L4/RTX 40
# 8.9). Not Hopper (H100/H200, 9.0): no kernels, and none can be added without rebuilding MXNet.
# The host needs an NVIDIA driver new enough for CUDA 11.2 (450.80 or later) and the NVIDIA
# container toolkit.
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

ENV DEBIAN_FRONTEND=noninteractive
# Python 3.11 is not in Ubuntu 20.04's archive: the deadsnakes PPA provides it, with its headers
# (gluonnlp builds from source).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends software-properties-common \
    && add-apt-repository --yes ppa:deadsnakes/ppa \
    && apt-get update \
    && apt-get install --yes --no-install-recommends python3.11 python3.11-dev python3.11-venv \
       build-essential make git \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 workshop
USER workshop
WORKDIR /home/workshop/cnn-nlp-workshop
COPY --chown=workshop:workshop . .

# GPU=1: there is no GPU while an image builds, so the stack is chosen here, not detected.
RUN make setup GPU=1 && rm -rf /home/workshop/.cache/pip

EXPOSE 8888
CMD [".venv/bin/jupyter", "lab", "--ServerApp.root_dir=notebooks", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
