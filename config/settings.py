"""DAGR settings: one module, every deployment difference comes from the environment.

Embedded default: SQLite in ./var, DEBUG off unless DAGR_DEBUG=1. Production: set DATABASE_URL to
PostgreSQL (``postgres://user:pass@host:5432/dagr``), DAGR_SECRET_KEY, DAGR_ALLOWED_HOSTS and the
e-mail settings below.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DAGR_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DAGR_DEBUG", False)
# The embedded default generates a per-installation key into var/ (see dagr.core.secrets);
# production passes DAGR_SECRET_KEY.
SECRET_KEY = os.environ.get("DAGR_SECRET_KEY") or ""
if not SECRET_KEY:
    from dagr.core.secrets import local_secret_key

    SECRET_KEY = local_secret_key(VAR_DIR)
# Key of the keyed hashes of personal identifiers in the access audit ("who read person X").
# Keep it stable for the lifetime of the audit; it is separate from SECRET_KEY so that key can
# rotate.
AUDIT_SUBJECT_KEY = os.environ.get("DAGR_AUDIT_KEY") or ""
if not AUDIT_SUBJECT_KEY:
    from dagr.core.secrets import local_secret_key

    AUDIT_SUBJECT_KEY = local_secret_key(VAR_DIR, "audit_key")
# Key of the audit chains (HMAC-SHA256 of every entry, access and administrative): whoever can
# write the database but lacks this key cannot recompute a chain after an edit. Never stored in
# the database; keep it stable (entries are verified with it) and back it up with the data.
AUDIT_CHAIN_KEY = os.environ.get("DAGR_AUDIT_CHAIN_KEY") or ""
if not AUDIT_CHAIN_KEY:
    from dagr.core.secrets import local_secret_key

    AUDIT_CHAIN_KEY = local_secret_key(VAR_DIR, "audit_chain_key")
# Ed25519 key that signs the audit checkpoints: PEM text in DAGR_AUDIT_SIGNING_KEY, else a file
# generated on first use (mode 0600). Its public key (`dagr audit checkpoint --public-key`) is
# what outsiders use to check an exported checkpoint.
AUDIT_SIGNING_KEY = os.environ.get("DAGR_AUDIT_SIGNING_KEY") or ""
AUDIT_SIGNING_KEY_PATH = VAR_DIR / "audit" / "checkpoint_key.pem"
# Append-only log of signed checkpoints of every audit chain head (outside the audit tables).
AUDIT_CHECKPOINT_PATH = Path(
    os.environ.get("DAGR_AUDIT_CHECKPOINT_PATH") or VAR_DIR / "audit" / "checkpoints.jsonl"
)
# The checkpoint store class (dotted path; constructed with AUDIT_CHECKPOINT_PATH). Only the
# append-only file store exists; a second database or an object store implements the same two
# methods (``dagr.audit.integrity.CheckpointStore``).
AUDIT_CHECKPOINT_STORE = "dagr.audit.integrity.FileCheckpointStore"
# Where `dagr audit verify --incremental` keeps the last verified state (signed).
AUDIT_VERIFIED_PATH = AUDIT_CHECKPOINT_PATH.with_name("verified.json")
# How often the worker writes a checkpoint (seconds); it writes one at shutdown too.
AUDIT_CHECKPOINT_INTERVAL_S = float(os.environ.get("DAGR_AUDIT_CHECKPOINT_INTERVAL_S", "60"))
# What `dagr worker` (in dagr.core, below the audit) calls at that interval and at shutdown.
AUDIT_CHECKPOINT_WRITER = "dagr.audit.integrity.checkpoint_write"
# The access audit's subject index (``dagr.audit.subjects``) is filled by the worker after
# commit: every this many seconds, in transactions of at most this many entries or about this
# many subjects.
AUDIT_SUBJECT_INDEX_INTERVAL_S = float(os.environ.get("DAGR_AUDIT_SUBJECT_INDEX_S", "5"))
AUDIT_SUBJECT_INDEX_BATCH = int(os.environ.get("DAGR_AUDIT_SUBJECT_INDEX_BATCH", "5000"))
AUDIT_SUBJECT_INDEX_SUBJECTS = int(os.environ.get("DAGR_AUDIT_SUBJECT_INDEX_SUBJECTS", "20000"))
ALLOWED_HOSTS = env_list("DAGR_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DAGR_CSRF_TRUSTED_ORIGINS", "")


def default_site_url() -> str:
    """The portal's own address from HOST and PORT (what `dagr serve` listens on)."""
    host = os.environ.get("HOST", "").strip() or "127.0.0.1"
    if host in {"0.0.0.0", "::", "[::]"}:  # noqa: S104  # listening everywhere: link to this machine
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = os.environ.get("PORT", "").strip() or "8000"
    return f"http://{host}:{port}"


# Absolute address of the portal in e-mails and the generated sync.yaml; unset: from HOST/PORT.
SITE_URL = os.environ.get("DAGR_SITE_URL", "").strip() or default_site_url()

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks_db",
    "axes",
    "ninja",
    "dagr.core",
    "dagr.audit",
    "dagr.accounts",
    "dagr.permissions",
    "dagr.connections",
    "dagr.catalog",
    "dagr.knowledge",
    "dagr.grants",
    "dagr.records",
    "dagr.uploads",
    "dagr.retrieval",
    "dagr.anonymisation",
    "dagr.connectors",
    "dagr.monitoring",
    "dagr.opendata",
    "dagr.notifications",
    "dagr.oversight",
    "dagr.demo",
    "dagr.portal",
    "dagr.dashboard",
    "dagr.ckan",
]

MIDDLEWARE = [
    "dagr.dashboard.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dagr.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "dagr.core.headers.ApiHeadersMiddleware",
    "dagr.core.middleware.ApiProblemMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "dagr.accounts.middleware.TwoFactorMiddleware",
    "dagr.portal.middleware.DomainErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# The API's own, lean stack (config/wsgi.py): sessions and authentication stay for the few
# session-authenticated administrator calls; both are lazy and cost nothing on token calls.
API_MIDDLEWARE = [
    "dagr.dashboard.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "dagr.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "dagr.core.headers.ApiHeadersMiddleware",
    "dagr.core.middleware.ApiProblemMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dagr.accounts.middleware.TwoFactorMiddleware",
]

# GET-by-identifier without a session cookie (config/wsgi.py): the API stack without the three
# layers that only ever look at a session — with no session cookie they add nothing to the answer.
DATA_GET_MIDDLEWARE = [
    m
    for m in API_MIDDLEWARE
    if m
    not in (
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "dagr.accounts.middleware.TwoFactorMiddleware",
    )
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dagr.portal.context_processors.portal",
                "dagr.notifications.context_processors.notifications",
                "dagr.knowledge.context_processors.page_help",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'dagr.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600)}
# SQLite's WAL checkpoints (dagr.core.db.sqlite.checkpoint, docs/performance.md "SQLite tail
# latency"): the worker checkpoints every DAGR_SQLITE_CHECKPOINT_S without holding up writers,
# and once the WAL holds DAGR_SQLITE_WAL_RESET_PAGES pages, finishes under the writer lock so the
# WAL starts over; a commit checkpoints only at DAGR_SQLITE_AUTOCHECKPOINT_PAGES (the worker not
# running — SQLite's default is 1,000, which put a checkpoint into every ~100th request).
DAGR_SQLITE_CHECKPOINT_S = float(os.environ.get("DAGR_SQLITE_CHECKPOINT_S", "1"))
DAGR_SQLITE_WAL_RESET_PAGES = int(os.environ.get("DAGR_SQLITE_WAL_RESET_PAGES", "16000"))
DAGR_SQLITE_AUTOCHECKPOINT_PAGES = int(os.environ.get("DAGR_SQLITE_AUTOCHECKPOINT_PAGES", "100000"))
DAGR_SQLITE_WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes
# The SQLite connection's settings (every DAGR process: web, worker, CLI).
DAGR_SQLITE_OPTIONS = {
    # WAL lets the web server and the worker read while one of them writes; IMMEDIATE
    # transactions take the write lock up front instead of failing half-way.
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
        "PRAGMA busy_timeout=10000; "
        # WAL checkpoints are the worker's job (dagr.core.db.sqlite.checkpoint): a commit
        # checkpoints only when the WAL reaches this many pages (the worker not running),
        # and a WAL file grown past the size limit is cut back when it restarts.
        f"PRAGMA wal_autocheckpoint={DAGR_SQLITE_AUTOCHECKPOINT_PAGES}; "
        f"PRAGMA journal_size_limit={DAGR_SQLITE_WAL_SIZE_LIMIT};"
    ),
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend plus a prompt cross-process writer lock (see its docstring).
    DATABASES["default"]["ENGINE"] = "dagr.core.db.sqlite"
    DATABASES["default"]["OPTIONS"] = DAGR_SQLITE_OPTIONS
    DATABASES["default"]["CONN_MAX_AGE"] = None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work: Django's tasks framework with the database-backed worker ----------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("DAGR_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
WORKER_HEARTBEAT_MAX_AGE_S = 30

# --- Authentication ----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "dagr.accounts.backends.ActiveUserBackend",
    # national login (OpenID Connect): answers only the provider's callback, only when configured
    "dagr.accounts.oidc.DagrOIDCBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

# --- User management (DU-8) --------------------------------------------------------------------
# Two-factor authentication (TOTP) is required for portal administrators and signatory contact
# persons: they are sent to the enrolment page until done. The switch exists for the test suite
# only (tests/conftest.py turns it off except where a test turns it on); never off in production.
DAGR_TWO_FACTOR_ENFORCE = env_bool("DAGR_TWO_FACTOR_ENFORCE", True)
DAGR_TWO_FACTOR_ISSUER = os.environ.get("DAGR_TWO_FACTOR_ISSUER", "DAGR")
DAGR_TWO_FACTOR_MAX_ATTEMPTS = int(os.environ.get("DAGR_TWO_FACTOR_MAX_ATTEMPTS", "5"))
DAGR_TWO_FACTOR_WINDOW_S = 15 * 60
# Periodic access review: every N months; unconfirmed roles are suspended after the grace days.
DAGR_ACCESS_REVIEW_MONTHS = int(os.environ.get("DAGR_ACCESS_REVIEW_MONTHS", "6"))
DAGR_ACCESS_REVIEW_GRACE_DAYS = int(os.environ.get("DAGR_ACCESS_REVIEW_GRACE_DAYS", "30"))
# Invitations by e-mail: link validity in days.
DAGR_INVITATION_DAYS = int(os.environ.get("DAGR_INVITATION_DAYS", "7"))
# Users not logged in for N days are deactivated (0: never); a notice goes out before.
DAGR_INACTIVE_DEACTIVATE_DAYS = int(os.environ.get("DAGR_INACTIVE_DEACTIVATE_DAYS", "180"))
DAGR_INACTIVE_NOTICE_DAYS = int(os.environ.get("DAGR_INACTIVE_NOTICE_DAYS", "14"))
# National login (OpenID Connect): off unless the discovery URL and the client id are set.
DAGR_OIDC_DISCOVERY_URL = os.environ.get("DAGR_OIDC_DISCOVERY_URL", "")
DAGR_OIDC_CLIENT_ID = os.environ.get("DAGR_OIDC_CLIENT_ID", "")
DAGR_OIDC_CLIENT_SECRET = os.environ.get("DAGR_OIDC_CLIENT_SECRET", "")
DAGR_OIDC_SIGN_ALGO = os.environ.get("DAGR_OIDC_SIGN_ALGO", "RS256")
DAGR_OIDC_SCOPES = os.environ.get("DAGR_OIDC_SCOPES", "openid email")
DAGR_OIDC_PERSONAL_CODE_CLAIM = os.environ.get("DAGR_OIDC_PERSONAL_CODE_CLAIM", "personal_code")
DAGR_OIDC_LABEL = os.environ.get("DAGR_OIDC_LABEL", "Latvija.lv")
DAGR_OIDC_TIMEOUT_S = 10
# The key of the personal codes' keyed hashes (lookup by the national login); default: a key
# generated once into var/personal_code_key. Changing it unlinks every stored personal code.
DAGR_PERSONAL_CODE_KEY = os.environ.get("DAGR_PERSONAL_CODE_KEY", "")

# Failed-login throttling (django-axes): lock the username+IP pair after 5 failures for 15 min.
AXES_FAILURE_LIMIT = int(os.environ.get("DAGR_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Rate limits (dagr.core.ratelimit, counted in the database so every web process counts together;
# client addresses are REMOTE_ADDR). Password-reset e-mails per address and per client address
# within an hour — past the limit the form answers as always and sends nothing. Failed client
# authentications at the token endpoint per client_id and per client address within 15 minutes —
# past the limit the endpoint answers 429 with Retry-After until the window ends.
PASSWORD_RESET_MAILS_PER_ADDRESS = int(os.environ.get("DAGR_PASSWORD_RESET_PER_ADDRESS", "3"))
PASSWORD_RESET_MAILS_PER_IP = int(os.environ.get("DAGR_PASSWORD_RESET_PER_IP", "10"))
PASSWORD_RESET_WINDOW_S = 3600
TOKEN_FAILURES_PER_CLIENT = int(os.environ.get("DAGR_TOKEN_FAILURES_PER_CLIENT", "10"))
TOKEN_FAILURES_PER_IP = int(os.environ.get("DAGR_TOKEN_FAILURES_PER_IP", "30"))
TOKEN_FAILURE_WINDOW_S = 900

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 8
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- HTTPS: HSTS and Secure cookies ------------------------------------------------------------
# On by default; off only for a local installation: DAGR_DEBUG on, or DAGR_SITE_URL on a loopback
# host over plain http (what `make run` uses). DAGR_HTTPS=on/off forces it either way (off for a
# plain-http test installation on a network address). Behind a reverse proxy that terminates TLS,
# set DAGR_PROXY_SSL_HEADER (e.g. X-Forwarded-Proto) so Django sees the request as https — HSTS
# is only sent on https requests — and make sure the proxy overwrites that header.
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def site_is_local(site_url: str, debug: bool) -> bool:
    parsed = urlsplit(site_url)
    return debug or (parsed.scheme == "http" and (parsed.hostname or "") in LOOPBACK_HOSTS)


_https = os.environ.get("DAGR_HTTPS", "").strip().lower()
HTTPS = env_bool("DAGR_HTTPS") if _https not in {"", "auto"} else not site_is_local(SITE_URL, DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DAGR_HSTS_SECONDS", 365 * 24 * 3600)) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DAGR_HSTS_INCLUDE_SUBDOMAINS", False)
if os.environ.get("DAGR_PROXY_SSL_HEADER"):
    _header = os.environ["DAGR_PROXY_SSL_HEADER"].strip().upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = (f"HTTP_{_header}", "https")

# --- Content-Security-Policy (Django's own middleware, on the portal and the API alike): no
# inline script or style anywhere — the portal's scripts and styles are static files, and
# django-ninja's Swagger UI page (/api/v1/docs) starts from its static swagger-ui-init.js with
# its settings in a JSON data block, so it needs no exception either.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Internationalisation: Latvian first, English second ---------------------------------------
LANGUAGE_CODE = "lv"
LANGUAGES = [("lv", "Latviešu"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Riga"
USE_TZ = True
LANGUAGE_COOKIE_NAME = "dagr_language"

# --- Static files: served by the application (WhiteNoise), never from a CDN ---------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from the finders; keep it quiet
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail (Django 6.1 MAILERS) ----------------------------------------------------------------
# With DAGR_EMAIL_HOST set, mail goes to that SMTP relay; without it (the embedded default) every
# message is written to var/outbox/ so nothing is lost and nothing leaves the machine.
if os.environ.get("DAGR_EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["DAGR_EMAIL_HOST"],
                "port": int(os.environ.get("DAGR_EMAIL_PORT", "25")),
                "username": os.environ.get("DAGR_EMAIL_USER", ""),
                "password": os.environ.get("DAGR_EMAIL_PASSWORD", ""),
                "use_tls": env_bool("DAGR_EMAIL_TLS", False),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "outbox")},
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("DAGR_EMAIL_FROM", "DAGR <noreply@dagr.example.lv>")

# --- Uploads -----------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DAGR_SCHEMA_UPLOAD_MAX_BYTES = 1024 * 1024
# Test data releases (issue #13): processes transforming the records of a large release
# (dagr.anonymisation.engine, forked after the pre-pass; the same output as one process).
# 1: in the building process only.
DAGR_ANONYMISATION_WORKERS = int(
    os.environ.get("DAGR_ANONYMISATION_WORKERS") or min(os.cpu_count() or 1, 4)
)
DAGR_UPLOAD_MAX_BYTES = int(os.environ.get("DAGR_UPLOAD_MAX_MB", "200")) * 1024 * 1024

# --- API ---------------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 100

# --- Loading -----------------------------------------------------------------------------------
# A snapshot that would delete more than this share of a dataset's live records (or that holds
# no records) is refused unless the caller confirms the exact number of deletions.
DAGR_SNAPSHOT_MAX_DELETE_SHARE = float(os.environ.get("DAGR_SNAPSHOT_MAX_DELETE_SHARE", "0.5"))

# --- Logging: structured enough to grep, never a token or password ------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DAGR_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # 4xx answers are normal API traffic, and their URLs can hold identifiers (personal
        # codes): log server errors only. Every data access is in the access audit anyway.
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
}

# --- Statistics and operators' metrics (docs/metrics.md) ---------------------------------------
# How often the worker folds new access entries into the statistics rollups (seconds).
DAGR_STATS_INTERVAL_S = int(os.environ.get("DAGR_STATS_INTERVAL_S", "30"))
# Per-minute rollups are kept this many hours (the finest view, the last hour, needs 1 h; older
# periods read the hour/day/month rows); the worker deletes older minute rows in bounded batches.
DAGR_STATS_MINUTE_ROWS_HOURS = int(os.environ.get("DAGR_STATS_MINUTE_ROWS_HOURS", "48"))
# How often the worker measures the datasets' size on disk (seconds; a pass over the records).
DAGR_STATS_SIZE_INTERVAL_S = int(os.environ.get("DAGR_STATS_SIZE_INTERVAL_S", "3600"))
# /metrics answers clients in these networks without a token (default: this machine only) …
DAGR_METRICS_NETWORKS = env_list("DAGR_METRICS_NETWORKS", "127.0.0.0/8,::1/128")
# … and anyone presenting this bearer token (unset: no token is accepted).
DAGR_METRICS_TOKEN = os.environ.get("DAGR_METRICS_TOKEN", "")

# Tasks that run once a day and queue their own next run; `dagr worker` queues one at start.
DAGR_DAILY_TASKS = [
    "dagr.retrieval.tasks.feeds_recheck_task",
    "dagr.accounts.tasks.accounts_daily_task",
]

# Functions the worker calls every N seconds, each in its own thread (dotted path → seconds).
DAGR_PERIODIC_JOBS = {
    "dagr.notifications.tasks.tick": float(os.environ.get("DAGR_NOTIFICATIONS_TICK_S", "5")),
    # the statistics: fold new access entries into the rollups, prune old minute rows, measure
    # the datasets' size now and then
    "dagr.dashboard.services.stats_periodic": float(DAGR_STATS_INTERVAL_S),
    # connectors (DU-12): queue the scheduled runs that are due, prune old run logs daily
    "dagr.connectors.services.connectors_periodic": float(
        os.environ.get("DAGR_CONNECTORS_TICK_S", "30")
    ),
    # the access audit's subject index: the entries written since the last run, in bulk
    "dagr.audit.subjects.subject_index_periodic": AUDIT_SUBJECT_INDEX_INTERVAL_S,
}
if DATABASES["default"]["ENGINE"] == "dagr.core.db.sqlite":
    # SQLite's WAL checkpoints, out of the requests' commits (see DAGR_SQLITE_CHECKPOINT_S)
    DAGR_PERIODIC_JOBS["dagr.core.db.sqlite.checkpoint.wal_checkpoint_periodic"] = (
        DAGR_SQLITE_CHECKPOINT_S
    )

# --- Connectors (DU-12) ------------------------------------------------------------------------
# Run log lines are kept this many days; a run's claim on its connector lasts this many seconds
# past its last commit or progress report (a killed run's claim runs out, the next run takes over).
DAGR_CONNECTOR_LOG_DAYS = int(os.environ.get("DAGR_CONNECTOR_LOG_DAYS", "90"))
DAGR_CONNECTOR_LEASE_S = int(os.environ.get("DAGR_CONNECTOR_LEASE_S", "600"))
# Extra source kinds (modules that call dagr.connectors.sources.register_source): tests, bench.
DAGR_CONNECTOR_SOURCE_MODULES = tuple(
    m for m in os.environ.get("DAGR_CONNECTOR_SOURCE_MODULES", "").split(",") if m
)

# --- Notifications (DU-9) ----------------------------------------------------------------------
# E-mail sending by the worker: at most this many messages per second (0 = no limit), this many
# per batch, transient (4xx) failures retried after 1, 2, 4… × the base delay, this many tries.
NOTIFICATIONS_EMAIL_RATE = float(os.environ.get("DAGR_EMAIL_RATE", "20"))
NOTIFICATIONS_EMAIL_BATCH = int(os.environ.get("DAGR_EMAIL_BATCH", "100"))
NOTIFICATIONS_EMAIL_RETRY_BASE_S = 60
NOTIFICATIONS_EMAIL_MAX_ATTEMPTS = 5
# How often the time-based events (grant expiry, quota, stale datasets) are looked for.
NOTIFICATIONS_CHECK_INTERVAL_S = 300

# --- Change monitoring -------------------------------------------------------------------------
# Webhook deliveries to private, loopback, link-local or otherwise non-public addresses (and over
# plain http) are refused unless the operator allows them — for a closed network or local tests.
DAGR_WEBHOOK_ALLOW_PRIVATE = env_bool("DAGR_WEBHOOK_ALLOW_PRIVATE", False)
# --- Sync to the national open data portal (CKAN) -----------------------------------------------
# The CKAN portal's address must be https and public unless the operator allows a portal inside
# its own network (and the tests their loopback stand-in); timeouts of one Action API request.
DAGR_CKAN_ALLOW_PRIVATE = env_bool("DAGR_CKAN_ALLOW_PRIVATE", False)
DAGR_CKAN_CONNECT_TIMEOUT_S = float(os.environ.get("DAGR_CKAN_CONNECT_TIMEOUT_S", "5"))
DAGR_CKAN_READ_TIMEOUT_S = float(os.environ.get("DAGR_CKAN_READ_TIMEOUT_S", "20"))

# The most identifier values one record set may watch.
MONITORING_MAX_IDENTIFIERS = int(os.environ.get("DAGR_MONITORING_MAX_IDENTIFIERS", "200000"))
