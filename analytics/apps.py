from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Aged-content analytics"

    def ready(self) -> None:
        # Imported here: services import models, which the registry loads first.
        from analytics.services import engagement_vectors_on_counts_refreshed
        from engagement.signals import counts_refreshed

        counts_refreshed.connect(engagement_vectors_on_counts_refreshed, dispatch_uid="analytics-vectors")
