"""OAuth 2 the way Mastodon clients expect it, on django-oauth-toolkit:
app registration (`POST /api/v1/apps`), the sign-in and consent pages, the
out-of-band code page, token and revoke endpoints."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from oauth2_provider import views as oauth_views
from oauth2_provider.models import Application
from oauth2_provider.oauth2_validators import OAuth2Validator
from rest_framework.authtoken.models import Token

from mastodon_api.models import AppProfile

OOB = "urn:ietf:wg:oauth:2.0:oob"
GRANTS = frozenset({"authorization_code", "client_credentials", "refresh_token"})


class MastodonOAuth2Validator(OAuth2Validator):
    """Mastodon's apps use one registration for every grant; the password grant
    only where NEXUS_OAUTH_PASSWORD_GRANT allows it. An app may ask for the
    scopes it registered, no more."""

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if grant_type == "password":
            return settings.NEXUS_OAUTH_PASSWORD_GRANT
        return grant_type in GRANTS

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        return set(scopes) <= set(app_scopes(client).split())


def app_scopes(application: Application) -> str:
    profile = AppProfile.objects.filter(application=application).only("scopes").first()
    return profile.scopes if profile else "read"


def scopes_valid(scopes: str) -> bool:
    return bool(scopes.split()) and set(scopes.split()) <= set(settings.OAUTH2_PROVIDER["SCOPES"])


@transaction.atomic
def app_register(*, name: str, redirect_uris: list[str], scopes: str, website: str) -> tuple[Application, str]:
    """A confidential OAuth client for a Mastodon app; returns it and its
    secret (stored hashed: this is the only time it is seen)."""
    secret = secrets.token_urlsafe(32)
    application = Application.objects.create(
        name=name,
        redirect_uris=" ".join(redirect_uris),
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        client_secret=secret,
    )
    AppProfile.objects.create(application=application, scopes=scopes, website=website)
    return application, secret


# --- pages ---------------------------------------------------------------------------------
class SignInForm(AuthenticationForm):
    """A password, or (for accounts made by `create_user`, which have none) the
    account's Nexus API token: the credential its owner already holds."""

    password = forms.CharField(label="Password or API token", strip=False, widget=forms.PasswordInput)

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username and password:
            user = authenticate(self.request, username=username, password=password)
            if user is None:
                user = _user_by_api_token(username, password)
            if user is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(user)
            self.user_cache = user
        return self.cleaned_data


def _user_by_api_token(username: str, key: str):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        return None
    token = Token.objects.filter(user=user).values_list("key", flat=True).first()
    if token is None or not secrets.compare_digest(token, key):
        return None
    user.backend = "django.contrib.auth.backends.ModelBackend"
    return user


class SignInView(LoginView):
    template_name = "mastodon/sign_in.html"
    form_class = SignInForm
    redirect_authenticated_user = False


class AuthorizeView(oauth_views.AuthorizationView):
    """The consent page. With the out-of-band redirect the code is shown on a
    page for the user to paste into the app, as Mastodon does."""

    template_name = "mastodon/authorize.html"

    def redirect(self, redirect_to, application):
        if redirect_to.startswith(OOB):
            query = parse_qs(urlsplit(redirect_to).query)
            context = {"code": query.get("code", [""])[0], "error": query.get("error", [""])[0]}
            return render(self.request, "mastodon/oob.html", context)
        return super().redirect(redirect_to, application)


class TokenView(oauth_views.TokenView):
    pass


class RevokeView(oauth_views.RevokeTokenView):
    """Mastodon answers a revoke with `{}` (clients parse the body as JSON)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200 and not response.content:
            return JsonResponse({})
        return response
