"""Fixtures of the tweets app's tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from nexus.roles import SERVICES, roles_ensure


@pytest.fixture
def service_client(make_client, make_user):
    """A client with a service token (the event feed's readers)."""
    roles_ensure()
    service = make_user("timeline-builder")
    service.groups.add(Group.objects.get(name=SERVICES))
    return make_client(service)
