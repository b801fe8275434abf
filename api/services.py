"""The write use-cases clients call: the tweets app's services with the real
cross-app effects (api.effects) bound. Views, the admin and the Mastodon layer
call these; the rules themselves live in tweets.services."""

from __future__ import annotations

from functools import partial

from api.effects import TWEET_EFFECTS
from tweets import services as tweet_services

tweet_create = partial(tweet_services.tweet_create, effects=TWEET_EFFECTS)
tweet_edit = partial(tweet_services.tweet_edit, effects=TWEET_EFFECTS)
tweet_rollback = partial(tweet_services.tweet_rollback, effects=TWEET_EFFECTS)
tweet_publish = partial(tweet_services.tweet_publish, effects=TWEET_EFFECTS)
tweet_delete = partial(tweet_services.tweet_delete, effects=TWEET_EFFECTS)
tweet_remove = partial(tweet_services.tweet_remove, effects=TWEET_EFFECTS)
tweet_restore = partial(tweet_services.tweet_restore, effects=TWEET_EFFECTS)
tweet_revert = partial(tweet_services.tweet_revert, effects=TWEET_EFFECTS)
