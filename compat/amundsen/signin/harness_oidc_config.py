"""Harness-only frontend configs: the README's two, with a longer request timeout and nothing else.

Amundsen's frontend gives up on the metadata service after REQUEST_SESSION_TIMEOUT_SEC (3 s). On a
loaded CI machine (2 cores, -race Go tests and other helpers' Neo4j servers beside it) a first
bookmark or profile request can take longer than that even after the harness warmed the metadata
service up, and the test would fail on timing, not on sign-in. These subclasses raise the timeout
and change nothing else: the sign-in, the user_id the frontend derives from the ID token and the
metadata calls are those of the configs the README recommends (OktasyncOidcConfig) and warns about
(the stock OidcConfig). This is a robustness setting of the test harness, NOT a recommended
deployment setting; test_harness_configs checks that the timeout is the only difference.
The benchmark (bench_signin.py), which times the 3 s give-up, uses the unmodified configs.
"""

from amundsen_application.oidc_config import OidcConfig
from oktasync_oidc_config import OktasyncOidcConfig

HARNESS_REQUEST_TIMEOUT_SEC = 30


class HarnessStockOidcConfig(OidcConfig):
    REQUEST_SESSION_TIMEOUT_SEC = HARNESS_REQUEST_TIMEOUT_SEC


class HarnessOktasyncOidcConfig(OktasyncOidcConfig):
    REQUEST_SESSION_TIMEOUT_SEC = HARNESS_REQUEST_TIMEOUT_SEC
