from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The composition layer: no models, only what spans apps."""

    name = "api"
    verbose_name = "Nexus API"
