# The loyalty service in a container: `docker build -t loyalty .`; compose.yaml runs it with
# PostgreSQL and the daily sweep. The image serves with `loyalty serve` as an unprivileged
# user; its database is SQLite in /var/lib/loyalty unless LOYALTY_DATABASE_URL says otherwise
# (create it once with `loyalty init`).

# The build stage: the rule engine (durable_rules) compiles from source, so the compiler stays
# here and only the built wheels go on.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY loyalty ./loyalty
COPY rules ./rules
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOYALTY_DATABASE_URL=sqlite:////var/lib/loyalty/loyalty.db \
    LOYALTY_RULES_DIR=/opt/loyalty/rules \
    LOYALTY_METRICS_DIR=/tmp/loyalty-metrics
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels "loyalty[postgres]" \
    && rm -rf /wheels \
    && groupadd --system --gid 10001 loyalty \
    && useradd --system --uid 10001 --gid loyalty --home-dir /var/lib/loyalty \
       --no-create-home --shell /usr/sbin/nologin loyalty \
    && install -d -m 0700 -o loyalty -g loyalty /var/lib/loyalty
COPY rules /opt/loyalty/rules
WORKDIR /var/lib/loyalty
VOLUME /var/lib/loyalty
USER loyalty:loyalty
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["loyalty", "serve", "--bind", "0.0.0.0:8000", "--workers", "2"]
