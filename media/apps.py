from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "media"

    def ready(self) -> None:
        from media import metrics as media_metrics
        from nexus import metrics

        metrics.source_register("media", media_metrics.media_gauges)
