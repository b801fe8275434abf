from django.db import models
from oauth2_provider.models import Application


class AppProfile(models.Model):
    """What a Mastodon client registered with `POST /api/v1/apps` beside the
    OAuth application itself: the scopes it may ask for and its website."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="mastodon_profile")
    scopes = models.CharField(max_length=1000, default="read")
    website = models.URLField(max_length=2000, blank=True, default="")

    def __str__(self) -> str:
        return self.application.name
