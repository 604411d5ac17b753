# Shared by scripts/demo and scripts/test: a virtualenv with Herald, and the local servers up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${EXTRAS}"

# Local Postgres and RabbitMQ (as on the development and CI machines); start them if down.
if [ -z "${HERALD_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
        for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
fi
if [ -z "${HERALD_TEST_AMQP_URL:-}" ] && command -v rabbitmqctl >/dev/null; then
    if ! rabbitmqctl -q status >/dev/null 2>&1; then
        rabbitmq-server -detached || true
        rabbitmqctl -q wait --timeout 60 /var/lib/rabbitmq/mnesia/rabbit@localhost.pid >/dev/null 2>&1 \
            || sleep 10
    fi
fi
