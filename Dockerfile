# encounter-service container: the API on the embedded SQLite database under /app/data
# (mount a volume there to keep it), or on PostgreSQL when DATABASE_URL is set.
#   docker build -t encounter-service .
#   docker run -p 8000:8000 -v encounter-data:/app/data encounter-service
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

# Non-root runtime user with a fixed uid/gid (predictable ownership of mounted volumes).
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app

# The app resolves codes/ and migrations/ relative to the repository root (/app), so the
# source tree stays here and is installed in editable mode. Owned by root: read-only to `app`.
COPY . /app
RUN pip install --no-cache-dir -e . \
 && mkdir -p /app/data \
 && chown app:app /app/data \
 && chmod 0750 /app/data

USER app

# Keep the SQLite database with a named volume (`-v encounter-data:/app/data`, inherits the
# app:app ownership) or a host directory writable by uid 10001.
EXPOSE 8000

# No curl in slim images: probe with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["encounter-service", "serve", "--host", "0.0.0.0", "--port", "8000"]
