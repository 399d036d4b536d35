"""Runs, in the frontend's venv (signin/.venv), what test_frontend_config.py asks of the frontend's
Python code, and prints the answers as JSON on stdout. Reads a JSON request on stdin:

    {"user_ids": [{"claims": {...}, "claim_env": "preferred_username" | null}, ...]}
        -> {"user_ids": [{"signed_in_user_id": ..., "auth_user_id": ...}, ...]}
           signed_in_user_id: oktasync_oidc_config.signed_in_user_id(claims, claim_env);
           auth_user_id: the user_id of OktasyncOidcConfig.AUTH_USER_METHOD for a session whose
           user is claims, with OKTASYNC_USER_ID_CLAIM=claim_env (unset when null), as
           flaskoidc leaves it in the Flask session.
    {"config_diff": true}
        -> {"config_diff": {harness class: {"base": README class, "overrides": {name: value},
                                            "base_timeout": the README class's timeout}}}

    signin/.venv/bin/python frontend_probe.py < request.json
"""

import json
import os
import sys


def user_ids(cases):
    from flask import Flask, session

    import oktasync_oidc_config as cfg

    app = Flask(__name__)
    app.config.from_object(cfg.OktasyncOidcConfig)
    app.secret_key = 'probe'
    out = []
    for case in cases:
        claims, claim_env = case['claims'], case.get('claim_env')
        if claim_env is None:
            os.environ.pop('OKTASYNC_USER_ID_CLAIM', None)
        else:
            os.environ['OKTASYNC_USER_ID_CLAIM'] = claim_env
        with app.test_request_context('/'):
            session['user'] = dict(claims)
            user = cfg.OktasyncOidcConfig.AUTH_USER_METHOD(app)
            unchanged = session['user'] == claims
        out.append({'signed_in_user_id': cfg.signed_in_user_id(dict(claims), claim_env),
                    'auth_user_id': getattr(user, 'user_id', None), 'session_unchanged': unchanged})
    return out


def config_diff():
    import harness_oidc_config as h

    out = {}
    for cls in (h.HarnessStockOidcConfig, h.HarnessOktasyncOidcConfig):
        base = cls.__mro__[1]
        out[cls.__name__] = {
            'base': f'{base.__module__}.{base.__qualname__}',
            'overrides': {k: v for k, v in vars(cls).items() if not k.startswith('__')},
            'base_timeout': base.REQUEST_SESSION_TIMEOUT_SEC,
        }
    return out


def main() -> None:
    req = json.load(sys.stdin)
    resp = {}
    if 'user_ids' in req:
        resp['user_ids'] = user_ids(req['user_ids'])
    if req.get('config_diff'):
        resp['config_diff'] = config_diff()
    json.dump(resp, sys.stdout, default=str)


if __name__ == '__main__':
    main()
