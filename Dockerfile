# Production image for the API and the outbox worker.
FROM python:3.12-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY catalog ./catalog
COPY market ./market
COPY matching ./matching
COPY search ./search
COPY migrations ./migrations
RUN pip install . && useradd --create-home --uid 10001 market \
    && mkdir -p /var/lib/market/uploads && chown -R market /var/lib/market

USER market
ENV MARKET_ENV=production \
    MARKET_UPLOAD_DIR=/var/lib/market/uploads
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["market", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
