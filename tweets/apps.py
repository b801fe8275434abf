from django.apps import AppConfig


class TweetsConfig(AppConfig):
    name = "tweets"
