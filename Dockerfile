# syntax=docker/dockerfile:1
# One image for every Herald process: the command picks which one runs
# (see docker-compose.yml). Build: docker build -t herald .
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 herald \
 && useradd --system --uid 10001 --gid herald --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin herald

WORKDIR /app

# The runtime dependencies (no dev extras) in their own layer, so that editing the code
# does not reinstall them. The list is read from pyproject.toml, the single source.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# pyproject.toml names README.md as the readme; setuptools only warns when it is missing, and
# the wildcard keeps COPY from failing on a tree without it (pyproject.toml always matches).
COPY pyproject.toml README.m[d] ./
COPY shared ./shared
COPY services ./services
COPY sandbox ./sandbox
COPY demo ./demo
RUN pip install . \
 && rm -rf build ./*.egg-info \
 && python -m compileall -q shared services sandbox demo \
 && chmod -R a+rX /app

USER herald

# The processes run from /app: `python -m` puts the working directory first on sys.path, so
# they import this tree, SQL migrations included, whatever the installed wheel carries.
# Fail the build, not the first start, if a service cannot be imported or finds no migration.
RUN python -c "import services.campaign.http.app, services.resolver.app, services.sender.app, services.logger.app, sandbox.app; from importlib.resources import files; assert any(p.name.endswith('.sql') for p in files('shared').joinpath('migrations').iterdir()), 'no SQL migrations found'"

# 8080: campaign API (HERALD_HTTP_PORT); 9090: sandbox gateway (python -m sandbox --port).
EXPOSE 8080 9090
CMD ["python", "-m", "services.campaign"]
