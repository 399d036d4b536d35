"""Amundsen frontend config for Okta sign-in with oktasync: the signed-in user_id is oktasync's key.

Amundsen's stock `amundsen_application.oidc_config.OidcConfig` takes the signed-in user_id from
the ID token's `user_id` claim, else its `email` claim, verbatim (models/user.py: load_user).
Okta's org authorization server issues no `user_id` claim, and its `email` claim is the profile
email as stored, with its case: John.Smith@Acme.com. oktasync's key, like databuilder's owner and
usage models, is the trimmed, lowercased email, so the stock config makes that person's profile
page fail (no such user) and their first bookmark create a second, bare :User.

OktasyncOidcConfig is OidcConfig with one change: the user_id is oktasync's key of the claim named by
OKTASYNC_USER_ID_CLAIM (default: `user_id` if the token has one, else `email`; set it to
`preferred_username`, the Okta login, with oktasync's `mapping.key: login`). That key is
unicodedata.normalize('NFC', value.strip()).lower(), exactly as oktasync computes it (its
extractor/okta Normalize, tested against CPython 3.11): an email that Okta holds decomposed (NFD)
signs in as the same user as its composed form.
Ship this file with the frontend (on PYTHONPATH) and set
FRONTEND_SVC_CONFIG_MODULE_CLASS=oktasync_oidc_config.OktasyncOidcConfig.
"""

import os
import unicodedata
from typing import Any, Dict, Optional

from amundsen_application.models.user import User, load_user
from amundsen_application.oidc_config import OidcConfig
from flask import Flask, session


def signed_in_user_id(claims: Dict[str, Any], claim: Optional[str] = None) -> Optional[str]:
    """oktasync's key for the signed-in user: the chosen claim, trimmed, in NFC and lowercased."""
    if claim:
        value = claims.get(claim)
    else:
        value = claims.get('user_id') or claims.get('email')
    if not isinstance(value, str) or not value.strip():
        return None
    return unicodedata.normalize('NFC', value.strip()).lower()


def get_auth_user(app: Flask) -> User:
    """OidcConfig's AUTH_USER_METHOD, with the user_id made oktasync's key."""
    claims = dict(session.get('user') or {})  # a copy: load_user mutates its argument
    user_id = signed_in_user_id(claims, os.environ.get('OKTASYNC_USER_ID_CLAIM') or None)
    if user_id:
        claims['user_id'] = user_id
    return load_user(claims)


class OktasyncOidcConfig(OidcConfig):
    AUTH_USER_METHOD = get_auth_user
