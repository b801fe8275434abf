from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.urls import register_converter

from nexus.converters import SnowflakeConverter
from nexus.logs import request_signals_connect


class NexusConfig(AppConfig):
    name = "nexus"
    verbose_name = "Nexus core"

    def ready(self) -> None:
        # Imported here, not at the top: these modules use models, which may
        # not be imported while the app registry is still loading.
        from nexus.auth import auth_cache_connect
        from nexus.roles import roles_ensure_after_migrate

        # Group permissions reference every app's content types, which exist
        # only after migrate; keeping roles in sync here keeps them declarative.
        post_migrate.connect(roles_ensure_after_migrate, dispatch_uid="nexus-roles")
        auth_cache_connect()
        register_converter(SnowflakeConverter, "snowflake")
        # Every line of a request carries its id, including Django's own after the middleware.
        request_signals_connect()
