# Image for the web, worker and beat services of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=credit_portal.settings \
    MEDIA_ROOT=/data/media \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# Pango and CJK fonts for the bulletin's PDF (WeasyPrint embeds Noto CJK).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

# Production dependencies only: pytest, Playwright and ruff live in requirements-dev.txt.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Run as an unprivileged user; uploads live on the shared media volume.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin portal \
    && mkdir -p /data/media /app/staticfiles \
    && chown -R portal:portal /data/media /app/staticfiles
USER portal

EXPOSE 8000
CMD ["gunicorn", "credit_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--timeout", "120"]
