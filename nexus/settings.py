"""Nexus settings: the one place that reads the environment.

Every knob has a safe default so that a fresh clone runs on embedded services
(SQLite under var/, in-process cache, local files, Celery on a filesystem
transport). `NEXUS_PRODUCTION=true` refuses to start with those development
defaults.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from botocore.config import Config as BotoConfig
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("NEXUS_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


# --- typed environment helpers -------------------------------------------------
def env_str(name: str, default: str | None = None) -> str | None:
    """A string from NAME, or from the file named by NAME_FILE (docker secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text().strip()
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from exc


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in (env_str(name, default) or "").split(",") if item.strip()]


PRODUCTION = env_bool("NEXUS_PRODUCTION", False)
DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when NEXUS_PRODUCTION is on")
    # Development: a random key kept under var/, never committed.
    key_file = VAR_DIR / ".secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# --- security (check --deploy clean when NEXUS_PRODUCTION is on) ----------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("NEXUS_BEHIND_PROXY", PRODUCTION) else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "oauth2_provider",
    "nexus",
    "tweets",
    "engagement",
    "media",
    "lifecycle",
    "analytics",
    "api",
    "mastodon_api",
]

# The nexus.middleware ones are Django's and simple-history's, skipped for the
# token-authenticated JSON API under /api/v1/ (see that module).
MIDDLEWARE = [
    "nexus.logs.RequestIdMiddleware",  # first: every later line of the request carries its id
    "nexus.metrics.RequestMetricsMiddleware",  # latency by route and status (/metrics)
    # NUL/414/413 refused before anything reads the request; dependency faults → 503 JSON.
    "nexus.faults.FaultMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "nexus.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "nexus.middleware.AuthenticationMiddleware",
    "nexus.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "nexus.middleware.HistoryRequestMiddleware",
    "mastodon_api.middleware.RateLimitHeadersMiddleware",
]

ROOT_URLCONF = "nexus.urls"
WSGI_APPLICATION = "nexus.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Django's backend, minus the per-request ping of a connection that
        # just finished a request cleanly (nexus/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "nexus.postgresql"
        # The ORM's client-side binding never prepares; the few hot statements
        # run through nexus.db.prepared_cursor are prepared on the server on
        # their second use per connection. Off for a pooler that cannot keep
        # prepared statements (PgBouncer < 1.21 in transaction mode).
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
            1 if env_bool("DB_PREPARED_STATEMENTS", True) else None
        )
        # An unreachable server fails the request (503) instead of hanging it.
        DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 3))
# A connection that finished a request cleanly this recently is not pinged
# before the next one's first query (0: ping on every request, as Django does).
DB_HEALTH_CHECK_BYPASS_SECONDS = env_float("DB_HEALTH_CHECK_BYPASS_SECONDS", 0.5)
if not DATABASE_URL:
    if PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL must be set when NEXUS_PRODUCTION is on")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "nexus.sqlite3",
            # WAL lets the web process read while the worker writes; IMMEDIATE
            # takes the write lock up front so two writers queue instead of
            # failing with "database is locked" on lock upgrade.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            "TEST": {"NAME": VAR_DIR / "test-nexus.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and counters ----------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
CACHE_KEY_PREFIX = env_str("NEXUS_CACHE_PREFIX", "nexus") or "nexus"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # Every command behind the process's "redis" circuit breaker (nexus.redis_connection).
                "CONNECTION_POOL_CLASS": "nexus.redis_connection.BreakerConnectionPool",
                "SOCKET_CONNECT_TIMEOUT": env_float("REDIS_CONNECT_TIMEOUT", 0.5),
                "SOCKET_TIMEOUT": env_float("REDIS_SOCKET_TIMEOUT", 0.5),
                "CONNECTION_POOL_KWARGS": {"max_connections": env_int("REDIS_MAX_CONNECTIONS", 100)},
            },
        }
    }
else:
    if PRODUCTION:
        raise ImproperlyConfigured("REDIS_URL must be set when NEXUS_PRODUCTION is on")
    # In-process: coherent only within one web process (the demo runs one).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": CACHE_KEY_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- storage ---------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("NEXUS_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = env_str("NEXUS_MEDIA_URL", "/media/")
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Admin, API docs and dashboard assets come from the installed packages; no CDN.
WHITENOISE_USE_FINDERS = True
STORAGE_BUCKET_NAME = env_str("STORAGE_BUCKET_NAME") or env_str("AWS_STORAGE_BUCKET_NAME")
if STORAGE_BUCKET_NAME:
    _default_storage = {
        # django-storages' S3Storage behind the "storage" circuit breaker.
        "BACKEND": "nexus.storage.BreakerS3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("STORAGE_ENDPOINT_URL") or env_str("AWS_S3_ENDPOINT_URL"),
            "access_key": env_str("AWS_ACCESS_KEY_ID"),
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY"),
            "region_name": env_str("AWS_S3_REGION_NAME", "us-east-1"),
            "addressing_style": env_str("STORAGE_ADDRESSING_STYLE", "path"),
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": env_bool("STORAGE_QUERYSTRING_AUTH", True),
            "custom_domain": env_str("STORAGE_CUSTOM_DOMAIN"),
            "file_overwrite": True,
            # Fail fast on an unreachable or hanging store: at worst
            # attempts × (connect + read) = 2 × 3 s per call, inside the request
            # deadline; then the breaker answers at once. Media tasks retry
            # with their own backoff.
            "client_config": BotoConfig(
                connect_timeout=env_float("STORAGE_CONNECT_TIMEOUT", 1.0),
                read_timeout=env_float("STORAGE_READ_TIMEOUT", 2.0),
                retries={"max_attempts": env_int("STORAGE_MAX_ATTEMPTS", 2), "mode": "standard"},
            ),
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # Content-addressed keys: the same key always holds the same bytes, so
        # overwriting (never renaming) keeps keys stable and repairs a partial write.
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL, "allow_overwrite": True},
    }
# The archive (lifecycle segments) is private: on S3 under its own prefix of
# the bucket (never public, no URLs handed out); locally outside MEDIA_ROOT,
# so the media route can never serve it.
if STORAGE_BUCKET_NAME:
    _archive_storage = {
        "BACKEND": _default_storage["BACKEND"],
        "OPTIONS": {
            **_default_storage["OPTIONS"],
            "location": env_str("NEXUS_ARCHIVE_PREFIX", "archive") or "archive",
            "custom_domain": None,
            "querystring_auth": True,
        },
    }
else:
    _archive_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": Path(env_str("NEXUS_ARCHIVE_ROOT", str(VAR_DIR / "archive"))), "allow_overwrite": True},
    }
STORAGES = {
    "default": _default_storage,
    "archive": _archive_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SERVE_LOCAL_MEDIA = not STORAGE_BUCKET_NAME

# --- auth --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- REST API ------------------------------------------------------------------------
NEXUS_WRITE_RATE = env_str("NEXUS_WRITE_RATE", "300/min")
REST_FRAMEWORK = {
    # Tokens only (SPEC §2): /api/v1/ runs without the session middleware.
    # Nexus API tokens and, beside them, OAuth 2 tokens issued to Mastodon clients.
    "DEFAULT_AUTHENTICATION_CLASSES": ["mastodon_api.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "nexus.parsers.JSONParser",
        "nexus.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["nexus.throttling.WriteRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "nexus.schema.NexusAutoSchema",
    "EXCEPTION_HANDLER": "nexus.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# --- OAuth 2 for Mastodon clients (mastodon_api/, django-oauth-toolkit) -------------------
# Mastodon's scopes: read and write are enforced (mastodon_api.authentication); follow
# and push are accepted (Nexus has neither follows nor push). The granular
# "read:statuses"-style scopes are accepted and count as their family.
MASTODON_SCOPES = {
    "read": "Read your tweets, likes and account",
    "write": "Post, edit, delete, like and retweet as you",
    "follow": "Follows (Nexus has none)",
    "push": "Web push (Nexus has none)",
    "profile": "Your account's basic profile",
}
for _family, _parts in {
    "read": ("accounts", "favourites", "search", "statuses", "notifications", "lists", "follows", "bookmarks"),
    "write": ("accounts", "favourites", "media", "statuses", "notifications", "lists", "follows", "bookmarks"),
}.items():
    MASTODON_SCOPES.update({f"{_family}:{_part}": f"{_family} ({_part})" for _part in _parts})
# The password grant is off unless this says so (Mastodon dropped it in 4.4;
# scripted logins such as `toot login_cli` need it).
NEXUS_OAUTH_PASSWORD_GRANT = env_bool("NEXUS_OAUTH_PASSWORD_GRANT", False)
OAUTH2_PROVIDER = {
    "SCOPES": MASTODON_SCOPES,
    "DEFAULT_SCOPES": ["read"],
    "OAUTH2_VALIDATOR_CLASS": "mastodon_api.oauth.MastodonOAuth2Validator",
    # Mastodon clients do not send PKCE (they may: S256 is verified when sent);
    # requiring it would lock out Mastodon.py, toot and most apps (W010 silenced below).
    "PKCE_REQUIRED": False,
    # RFC 9700 (OAuth 2.0 Security BCP) wherever Mastodon clients allow it.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": not NEXUS_OAUTH_PASSWORD_GRANT,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Mastodon's tokens do not expire; a client keeps its token until revoked.
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("NEXUS_OAUTH_TOKEN_SECONDS", 10 * 365 * 24 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600,
    # Tokens are kept as SHA-256 checksums only, never in clear (RFC 9700).
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    # "urn" for the out-of-band redirect (the code shown on a page, as Mastodon does).
    # Plain http only outside production (a loopback callback on a developer's machine).
    "ALLOWED_REDIRECT_URI_SCHEMES": env_list(
        "NEXUS_OAUTH_REDIRECT_SCHEMES", "https,urn" if PRODUCTION else "https,http,urn"
    ),
}
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W010"]  # PKCE optional: see PKCE_REQUIRED above
# Named so migrations can depend on the (swappable) application model.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
LOGIN_URL = "/auth/sign_in"

SPECTACULAR_SETTINGS = {
    "TITLE": "Nexus API",
    "DESCRIPTION": "Tweet storage and retrieval.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Operation ids and tags from the path after /api/v1 (tweets_create, not v1_tweets_create).
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,  # the values are their own labels
    # Served from the installed sidecar package: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- product knobs ------------------------------------------------------------------
NEXUS_EDIT_WINDOW_SECONDS = env_int("NEXUS_EDIT_WINDOW_SECONDS", 1800)
NEXUS_MAX_EDITS = env_int("NEXUS_MAX_EDITS", 5)
NEXUS_IDEMPOTENCY_TTL_SECONDS = env_int("NEXUS_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
NEXUS_HOT_CACHE_SECONDS = env_int("NEXUS_HOT_CACHE_SECONDS", 24 * 3600)
# Token → user lookups cached this long (0: off); invalidated on every user/token change.
NEXUS_AUTH_CACHE_SECONDS = env_int("NEXUS_AUTH_CACHE_SECONDS", 60)
NEXUS_SNOWFLAKE_WORKER_ID = env_int("NEXUS_SNOWFLAKE_WORKER_ID", -1)  # -1: derived from pid
NEXUS_HOT_DAYS = env_int("NEXUS_HOT_DAYS", 7)
NEXUS_WARM_DAYS = env_int("NEXUS_WARM_DAYS", 90)
NEXUS_MEDIA_MAX_BYTES = env_int("NEXUS_MEDIA_MAX_BYTES", 10 * 1024 * 1024)
NEXUS_MEDIA_MAX_PIXELS = env_int("NEXUS_MEDIA_MAX_PIXELS", 40_000_000)
NEXUS_MEDIA_MAX_RETRIES = env_int("NEXUS_MEDIA_MAX_RETRIES", 6)
NEXUS_MEDIA_RETRY_BACKOFF_SECONDS = env_float("NEXUS_MEDIA_RETRY_BACKOFF_SECONDS", 2.0)
NEXUS_MEDIA_RETRY_BACKOFF_MAX_SECONDS = env_float("NEXUS_MEDIA_RETRY_BACKOFF_MAX_SECONDS", 120.0)
# A processing claim lasts this long unless its worker's heartbeat renews it
# (every third of it); a killed worker's media is retaken by the sweep, which
# runs every NEXUS_MEDIA_SWEEP_SECONDS: recovery ≤ lease + sweep + the work.
NEXUS_MEDIA_LEASE_SECONDS = env_int("NEXUS_MEDIA_LEASE_SECONDS", 30)
NEXUS_MEDIA_SWEEP_SECONDS = env_float("NEXUS_MEDIA_SWEEP_SECONDS", 10.0)
# Pending media older than this is dispatched again (its first dispatch may
# have failed: broker down during the upload).
NEXUS_MEDIA_DISPATCH_GRACE_SECONDS = env_int("NEXUS_MEDIA_DISPATCH_GRACE_SECONDS", 10)
NEXUS_COUNTER_FLUSH_SECONDS = env_float("NEXUS_COUNTER_FLUSH_SECONDS", 5.0)
NEXUS_DRIFT_CHECK_SECONDS = env_float("NEXUS_DRIFT_CHECK_SECONDS", 30.0)
# Tier ages in seconds (the *_DAYS knobs set the defaults; seconds win when set,
# e.g. hot after 60 s and cold after 120 s for a keep-up run).
NEXUS_HOT_SECONDS = env_int("NEXUS_HOT_SECONDS", NEXUS_HOT_DAYS * 86400)
NEXUS_WARM_SECONDS = env_int("NEXUS_WARM_SECONDS", NEXUS_WARM_DAYS * 86400)
# Beat starts NEXUS_LIFECYCLE_WORKERS move tasks every interval; each moves
# batches (one segment each) until nothing is due or its time budget is spent.
NEXUS_LIFECYCLE_INTERVAL_SECONDS = env_float("NEXUS_LIFECYCLE_INTERVAL_SECONDS", 10.0)
NEXUS_LIFECYCLE_WORKERS = env_int("NEXUS_LIFECYCLE_WORKERS", 2)
NEXUS_LIFECYCLE_BATCH_SIZE = env_int("NEXUS_LIFECYCLE_BATCH_SIZE", 2000)  # tweets per segment
NEXUS_SEGMENT_ROW_GROUP_ROWS = env_int("NEXUS_SEGMENT_ROW_GROUP_ROWS", 128)  # rows a point read fetches
NEXUS_SEGMENT_MIN_ROWS = env_int("NEXUS_SEGMENT_MIN_ROWS", 1000)  # compaction merges smaller segments
# A segment object with no catalog row older than this is an orphan (a move
# that died before its commit): the sweeper deletes it. A move aborts rather
# than commit more than half of this after its upload.
NEXUS_SEGMENT_ORPHAN_SECONDS = env_int("NEXUS_SEGMENT_ORPHAN_SECONDS", 900)
NEXUS_SEGMENT_FOOTER_CACHE = env_int("NEXUS_SEGMENT_FOOTER_CACHE", 1024)  # footers kept per process
# A deleted or removed archived tweet's bytes leave its segment within this many hours.
NEXUS_ERASURE_HOURS = env_int("NEXUS_ERASURE_HOURS", 24)
# Object-store layout (README "Object storage"): media/ holds the public
# variants and nothing else; every other prefix is private — originals (with
# their EXIF) under private/, the archives under NEXUS_ARCHIVE_PREFIX (its
# default is kept: archive keys derive from it, so changing it strands them).
NEXUS_PUBLIC_PREFIX = "media"
NEXUS_PRIVATE_PREFIX = "private"
NEXUS_ARCHIVE_PREFIX = env_str("NEXUS_ARCHIVE_PREFIX", "archive") or "archive"
if NEXUS_ARCHIVE_PREFIX.strip("/").split("/")[0] == NEXUS_PUBLIC_PREFIX:
    raise ImproperlyConfigured(f"NEXUS_ARCHIVE_PREFIX must not be under the public prefix {NEXUS_PUBLIC_PREFIX}/")
NEXUS_ARCHIVE_CACHE_SECONDS = env_int("NEXUS_ARCHIVE_CACHE_SECONDS", 3600)
# Outbox events older than this are purged (a feed consumer lagging more must resync).
NEXUS_OUTBOX_RETENTION_HOURS = env_int("NEXUS_OUTBOX_RETENTION_HOURS", 168)
# --- faults: limits, deadlines, circuit breakers ---------------------------------------
# A request line longer than this → 414 JSON (gunicorn's own limit: gunicorn.conf.py).
NEXUS_MAX_URL_BYTES = env_int("NEXUS_MAX_URL_BYTES", 4096)
# Consecutive failures that open a dependency's breaker, and how long it stays open.
NEXUS_BREAKER_THRESHOLD = env_int("NEXUS_BREAKER_THRESHOLD", 3)
NEXUS_BREAKER_RESET_SECONDS = env_float("NEXUS_BREAKER_RESET_SECONDS", 5.0)
# Object-store calls in flight at once per process (a bulkhead: a hanging store
# holds at most this many web threads; keep it below gunicorn's --threads).
NEXUS_BREAKER_MAX_CONCURRENT = {"storage": env_int("NEXUS_STORAGE_MAX_CONCURRENCY", 2)}
# /readyz: every check together answers within this many seconds.
NEXUS_READYZ_TIMEOUT_SECONDS = env_float("NEXUS_READYZ_TIMEOUT_SECONDS", 1.5)
# Bearer token that shows /readyz details (errors, addresses) to a monitor; staff see them too.
NEXUS_OPS_TOKEN = env_str("NEXUS_OPS_TOKEN")
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

# --- Celery ------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if not CELERY_BROKER_URL:
    # Embedded broker: kombu's filesystem transport, so a worker and beat really
    # run without any server. Not for production (one machine only).
    _celery_dir = VAR_DIR / "celery"
    for sub in ("queue", "processed", "control"):
        (_celery_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
else:
    # Publishing is bounded: connect and socket timeouts, one quick retry; a
    # dispatch that still fails is retried from the database (e.g. the media sweep).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": env_float("BROKER_CONNECT_TIMEOUT", 1.0),
        "socket_timeout": env_float("BROKER_SOCKET_TIMEOUT", 2.0),
        "max_retries": 1,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("BROKER_CONNECT_TIMEOUT", 1.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A task is acknowledged after it ran, so a killed worker's task is redelivered;
# every task is idempotent for that reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "media-requeue-stale": {
        "task": "media.tasks.media_requeue_stale",
        "schedule": timedelta(seconds=NEXUS_MEDIA_SWEEP_SECONDS),
        "options": {"expires": max(1.0, NEXUS_MEDIA_SWEEP_SECONDS * 0.9)},
    },
    "lifecycle-dispatch": {
        "task": "lifecycle.tasks.lifecycle_dispatch",
        "schedule": timedelta(seconds=NEXUS_LIFECYCLE_INTERVAL_SECONDS),
        "options": {"expires": max(1.0, NEXUS_LIFECYCLE_INTERVAL_SECONDS * 0.9)},
    },
    "lifecycle-sweep-orphans": {
        "task": "lifecycle.tasks.lifecycle_sweep",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 240},
    },
    "lifecycle-compact": {
        "task": "lifecycle.tasks.lifecycle_compact",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 840},
    },
    "engagement-flush-counters": {
        "task": "engagement.tasks.flush_counters",
        "schedule": timedelta(seconds=NEXUS_COUNTER_FLUSH_SECONDS),
        "options": {"expires": max(1.0, NEXUS_COUNTER_FLUSH_SECONDS * 0.9)},
    },
    "engagement-drift-check": {
        "task": "engagement.tasks.drift_check",
        "schedule": timedelta(seconds=NEXUS_DRIFT_CHECK_SECONDS),
        "options": {"expires": max(1.0, NEXUS_DRIFT_CHECK_SECONDS * 0.9)},
    },
    "tweets-purge-idempotency-keys": {
        "task": "tweets.tasks.purge_idempotency_keys",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    "tweets-purge-outbox-events": {
        "task": "tweets.tasks.purge_outbox_events",
        "schedule": timedelta(minutes=10),
        "options": {"expires": 540},
    },
    "analytics-engagement-vectors-sync": {
        "task": "analytics.tasks.engagement_vectors_sync",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 27},
    },
    "analytics-hashtag-hours-prune": {
        "task": "analytics.tasks.hashtag_hours_prune",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    "analytics-engagement-points-prune": {
        "task": "analytics.tasks.engagement_points_prune",
        "schedule": timedelta(minutes=10),
        "options": {"expires": 540},
    },
}

# --- metrics (nexus/metrics.py) ------------------------------------------------------
# prometheus-client's multiprocess directory (it reads the variable itself):
# set for gunicorn and the Celery worker, emptied by gunicorn.conf.py at start.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# Who may scrape: these networks, or anyone with `Authorization: Bearer <token>`.
NEXUS_METRICS_ALLOWED_NETWORKS = env_list("NEXUS_METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
NEXUS_METRICS_TOKEN = env_str("NEXUS_METRICS_TOKEN")
for _network in NEXUS_METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"NEXUS_METRICS_ALLOWED_NETWORKS: {_network!r} is not a network") from exc
if NEXUS_METRICS_TOKEN is not None and len(NEXUS_METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("NEXUS_METRICS_TOKEN must be at least 16 characters")
# The Celery worker's own metrics port (task durations live in its processes); 0: off.
NEXUS_METRICS_WORKER_PORT = env_int("NEXUS_METRICS_WORKER_PORT", 0)
NEXUS_METRICS_WORKER_HOST = env_str("NEXUS_METRICS_WORKER_HOST", "127.0.0.1")
# Queues whose depth /metrics reports besides Celery's default one.
NEXUS_METRICS_CELERY_QUEUES = env_list("NEXUS_METRICS_CELERY_QUEUES", "")

# --- logging -------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# json (default): one JSON object per line with the request id; plain: for a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not json or plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "nexus.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "nexus.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
