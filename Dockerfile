# The modelbook model server: `modelbook serve` in a small, non-root image.
#   docker build -t modelbook-serve .
#   docker run -p 8000:8000 -v modelbook:/data modelbook-serve
# Tokens: docker run --rm -v modelbook:/data modelbook-serve modelbook serve --home /data/serve --new-token predict
# tests/test_dockerfile.py checks this file (always) and builds and runs it (where a Docker engine is reachable).
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 MODELBOOK_HOME=/data OMP_NUM_THREADS=2

# Fashion-MNIST (to train the classifier on first start) comes from Debian, as on the host.
RUN apt-get update \
    && apt-get install -y --no-install-recommends dataset-fashion-mnist=0.0~git20200523.55506a9-1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements-serve.txt ./
RUN pip install --no-deps --index-url https://download.pytorch.org/whl/cpu torch==2.13.0+cpu \
    && pip install --no-deps --only-binary=:all: -r requirements-serve.txt
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps --no-build-isolation .

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin modelbook \
    && mkdir -p /data && chown modelbook:modelbook /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=4)"]

# Inside the container the server must listen on all interfaces for the port mapping; the Host allow-list
# still limits which names it answers to (localhost and 127.0.0.1 by default).
CMD ["modelbook", "serve", "--host", "0.0.0.0", "--port", "8000", "--home", "/data/serve"]
