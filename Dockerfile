# TF Studio's image: the `tfstudio` CLI with the locked environment (uv.lock), as the steps of a
# compiled Kubeflow pipeline run it (`tfstudio pipeline compile FILE --target kubeflow`).
#
#   docker build -t tfstudio:latest .
#   docker run --rm -v "$PWD/home:/workspace" tfstudio:latest pipeline run /workspace/p.yaml --home /workspace
#
# The workspace (runs, datasets, registry) lives on a volume mounted at /workspace; every step of
# a pipeline reads and writes the same one. TF.js bundles also need `npm ci` in web/ (not done
# here: export tfjs from a full checkout, or add nodejs/npm and run it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/tfstudio \
    TFSTUDIO_HOME=/workspace \
    TF_CPP_MIN_LOG_LEVEL=2

RUN pip install --no-cache-dir "uv>=0.5" \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first (a layer that changes only with uv.lock), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY core ./core
COPY dashboard ./dashboard
COPY pages ./pages
COPY examples ./examples
COPY web ./web
COPY .streamlit ./.streamlit
RUN uv sync --frozen --no-dev

ENV PATH="/opt/tfstudio/bin:${PATH}"
VOLUME ["/workspace"]
ENTRYPOINT ["tfstudio"]
CMD ["--help"]
