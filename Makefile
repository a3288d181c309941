# CS Ops — every workflow starts here. `make demo` and `make test` work on a fresh machine with only
# Python 3.11+; set DATABASE_URL / REDIS_URL to run the same commands on PostgreSQL and Redis.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.install-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test install lint migrate serve worker beat check-deploy clean help

help:
	@echo "make demo    install, migrate, seed the demo tenant (first run only) and serve on http://$(HOST):$(PORT)"
	@echo "make test    install and run the test suite (SQLite, or DATABASE_URL/REDIS_URL when set)"
	@echo "make lint    ruff"
	@echo "make serve | worker | beat   production-style processes (gunicorn, celery worker, celery beat)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "CS Ops needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --if-empty --base-url http://$(HOST):$(PORT)
	@echo ""
	@echo "  CS Ops is starting on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

check-deploy: install
	SECRET_KEY=$${SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')} \
	ALLOWED_HOSTS=$${ALLOWED_HOSTS:-csops.example.com} \
	DJANGO_SETTINGS_MODULE=csops.settings.production $(PY) manage.py check --deploy --fail-level WARNING

serve: migrate
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-csops.settings.production} $(PY) manage.py collectstatic --noinput
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-csops.settings.production} \
		$(BIN)/gunicorn csops.wsgi:application --bind $${BIND:-0.0.0.0:8000} --workers $${WEB_CONCURRENCY:-3} --access-logfile -

worker: install
	$(BIN)/celery -A csops worker --loglevel=INFO --concurrency=$${WORKER_CONCURRENCY:-2}

beat: install
	mkdir -p var
	$(BIN)/celery -A csops beat --loglevel=INFO --schedule=$${BEAT_SCHEDULE_FILE:-var/celerybeat-schedule}

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* var staticfiles
