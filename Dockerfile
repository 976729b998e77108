# navsvc: API and worker image. Everything the pipeline needs (templates, atlases,
# Python packages) is installed at build time; nothing is downloaded at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NAVSVC_DATA_DIR=/data \
    NAVSVC_CACHE_DIR=/home/navsvc/.cache/navsvc \
    MPLCONFIGDIR=/home/navsvc/.cache/matplotlib

WORKDIR /app
COPY pyproject.toml README.md ./
COPY navsvc ./navsvc
COPY api ./api
COPY atlases ./atlases
# Editable install: the shipped atlases/ are found next to the navsvc package in /app.
RUN pip install -e ".[postgres]" \
    && useradd --create-home --uid 10001 navsvc \
    && mkdir -p /data \
    && chown navsvc:navsvc /data \
    && chmod 0700 /data

USER navsvc
# Build the derived template cache once, into the image, so no worker pays for it (a
# failure fails the build: an echo fallback once hid a renamed function).
RUN python -c "from navsvc.registration_grid import load_fixed_images; load_fixed_images()"
RUN python -c "from navsvc.anatomy.template_head import colin_head_distance_map; colin_head_distance_map()"

VOLUME ["/data"]
EXPOSE 8000
CMD ["navsvc", "serve", "--host", "0.0.0.0", "--port", "8000"]
