from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self) -> None:
        from engagement import metrics as engagement_metrics
        from nexus import metrics

        metrics.source_register("engagement_counters", engagement_metrics.engagement_gauges)
        metrics.source_register("redis_breaker", engagement_metrics.breaker_gauges)
