"""What engagement announces to the apps above it (which it must not import).

`counts_refreshed` is sent by the counter flush inside its transaction, under
its TweetCounters row locks, with `counts` (tweet id → the counts just
written): analytics keeps its similarity index current from it
(analytics.apps connects the receiver)."""

from django.dispatch import Signal

counts_refreshed = Signal()
