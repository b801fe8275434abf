import pytest

from tweets.tests.factories import make_tweet
from tweets.text import hashtags_extract


def test_hashtags_are_unicode_aware_case_folded_and_distinct():
    text = "hi #Nexus #nexus #日本語 a#b #_ #Straße &#123 #x_1"
    assert hashtags_extract(text) == ["nexus", "日本語", "strasse", "x_1"]


def test_a_tag_that_case_folding_lengthens_past_the_limit_is_not_a_tag():
    assert hashtags_extract("#" + "ß" * 100) == []
    assert hashtags_extract("#" + "a" * 100) == ["a" * 100]


@pytest.mark.django_db
def test_posting_a_tag_that_folds_long_succeeds(client_alice):
    response = client_alice.post("/api/v1/tweets", {"text": "#" + "ß" * 100}, format="json")
    assert response.status_code == 201


@pytest.mark.django_db
def test_factory_tweet_has_its_tags(user):
    tweet = make_tweet(user, "#One #two")
    assert sorted(tweet.hashtags.values_list("tag", flat=True)) == ["one", "two"]
