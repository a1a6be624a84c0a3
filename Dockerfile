# um-service: payer-side prior authorization (Da Vinci PAS 2.2).
# Defaults to an embedded SQLite file in /data; set UM_DATABASE_URL=postgresql+psycopg://... for production.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY um_service ./um_service
COPY migrations ./migrations
COPY rules ./rules
COPY examples ./examples
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /app um \
    && mkdir /data && chown um /data

ENV UM_MIGRATIONS_DIR=/app/migrations \
    UM_RULES_DIR=/app/rules \
    UM_EXAMPLES_DIR=/app/examples \
    UM_DATABASE_URL=sqlite:////data/um-service.db \
    UM_HOST=0.0.0.0 \
    UM_PORT=8000

USER um
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live')"
CMD ["um-service", "serve"]
