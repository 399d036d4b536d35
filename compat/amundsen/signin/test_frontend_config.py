"""The frontend config code the README ships (oktasync_oidc_config.py) and the harness-only
subclasses (harness_oidc_config.py), run in the frontend's own venv by frontend_probe.py.

The sign-in tests (test_signin.py) cover the default claim end to end; these cover the claim
choice the README documents (OKTASYNC_USER_ID_CLAIM=preferred_username, for oktasync's
`mapping.key: login`), and that the harness's frontends differ from the README's configs only in
their request timeout.
"""

import json
import subprocess

import signin_harness as sh

# An Okta user whose login differs from their email (both as Okta stores them, mixed case).
CLAIMS = {'sub': '00u1abcdefghijklmno', 'email': 'John.Smith@Acme.com', 'preferred_username': ' J.Smith@Acme.COM ',
          'name': 'John Smith'}


def probe(request):
    proc = subprocess.run([str(sh.FRONTEND_PYTHON), str(sh.HERE / 'frontend_probe.py')], input=json.dumps(request),
                          capture_output=True, text=True, timeout=120, cwd=str(sh.HERE),
                          env={**sh._base_env(), 'PYTHONPATH': str(sh.HERE)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_user_id_claim_setting():
    cases = [
        # (claims, OKTASYNC_USER_ID_CLAIM, the user_id the frontend signs in as)
        (CLAIMS, None, 'john.smith@acme.com'),  # default: user_id if present, else email
        (CLAIMS, '', 'john.smith@acme.com'),  # empty means unset
        (CLAIMS, 'preferred_username', 'j.smith@acme.com'),  # the Okta login, trimmed and lowercased
        (CLAIMS, 'email', 'john.smith@acme.com'),
        ({**CLAIMS, 'user_id': 'Custom.Claim@Acme.com'}, None, 'custom.claim@acme.com'),
        ({**CLAIMS, 'user_id': 'Custom.Claim@Acme.com'}, 'preferred_username', 'j.smith@acme.com'),
        # oktasync's key (extractor/okta Normalize): NFC, then Python's lower (İ gives i + U+0307,
        # a word-final capital sigma gives ς).
        ({**CLAIMS, 'email': 'Zoe\u0308.Lo\u0301pez@Acme.com'}, None, 'zo\u00eb.l\u00f3pez@acme.com'),
        ({**CLAIMS, 'email': ' \u0130nci@Acme.com'}, None, 'i\u0307nci@acme.com'),
        ({**CLAIMS, 'email': '\u0391\u039b\u0395\u039e\u0397\u03a3@Acme.com'}, None,
         '\u03b1\u03bb\u03b5\u03be\u03b7\u03c2@acme.com'),
    ]
    got = probe({'user_ids': [{'claims': c, 'claim_env': env} for c, env, _ in cases]})['user_ids']
    assert [g['auth_user_id'] for g in got] == [want for _, _, want in cases], got
    assert [g['signed_in_user_id'] for g in got] == [want for _, _, want in cases], got
    assert all(g['session_unchanged'] for g in got), 'get_auth_user must not rewrite the session'


def test_harness_configs_differ_from_the_readmes_only_in_the_request_timeout():
    diff = probe({'config_diff': True})['config_diff']
    assert diff == {
        'HarnessStockOidcConfig': {'base': sh.STOCK_CONFIG, 'overrides': {'REQUEST_SESSION_TIMEOUT_SEC': 30},
                                   'base_timeout': 3},
        'HarnessOktasyncOidcConfig': {'base': sh.RECOMMENDED_CONFIG, 'overrides': {'REQUEST_SESSION_TIMEOUT_SEC': 30},
                                      'base_timeout': 3},
    }
    assert sh.HARNESS_CONFIG == {sh.STOCK_CONFIG: 'harness_oidc_config.HarnessStockOidcConfig',
                                 sh.RECOMMENDED_CONFIG: 'harness_oidc_config.HarnessOktasyncOidcConfig'}
