# claim-extractor: the HTTP service on its offline default; mount a claims.yaml and pass keys as env to use hosted models.
# It binds 0.0.0.0, so it starts only with API keys configured (CLAIMS_API_KEYS, or api_keys in claims.yaml: the
# sha256 hashes `claims keys new` prints) or, on a private network, with CLAIMS_ALLOW_ANONYMOUS=true.
FROM python:3.11-slim

# litellm must not reach the network at import or first call; Python writes no .pyc and buffers no logs.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS=True \
    DISABLE_AIOHTTP_TRANSPORT=True \
    HF_HUB_OFFLINE=1 \
    CLAIMS_CACHE_DIR=/var/cache/claims

RUN useradd --create-home --uid 10001 claims \
    && mkdir -p /var/cache/claims \
    && chown claims:claims /var/cache/claims

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY service ./service
COPY prompts ./prompts
RUN pip install .

USER claims
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["claims", "serve", "--host", "0.0.0.0", "--port", "8000"]
