from django.db import models


class Item(models.Model):
    text = models.CharField(max_length=280)
    counter = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.text
