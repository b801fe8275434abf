from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "lifecycle"

    def ready(self) -> None:
        from lifecycle import metrics as lifecycle_metrics
        from nexus import metrics

        metrics.source_register("lifecycle", lifecycle_metrics.lifecycle_gauges)
