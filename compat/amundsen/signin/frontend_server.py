"""Runs Amundsen's real frontend (amundsen_application 4.3.0) on 127.0.0.1, as a deployment does.

Started by signin_harness.py with the sign-in harness's own venv (signin/.venv). Everything is
configured through the environment, exactly the variables a deployment sets (FLASK_APP_MODULE_NAME=
flaskoidc, FLASK_APP_CLASS_NAME=FlaskOIDC, FRONTEND_SVC_CONFIG_MODULE_CLASS, FLASK_OIDC_*,
METADATASERVICE_BASE, SQLALCHEMY_DATABASE_URI): amundsen_application and flaskoidc read them at
import time. The only difference from production is the server: werkzeug's threaded server
instead of gunicorn.

    python frontend_server.py PORT     # prints FRONTEND_READY http://127.0.0.1:PORT
"""

import sys

from werkzeug.serving import make_server


def main() -> None:
    port = int(sys.argv[1])
    from amundsen_application import create_app

    app = create_app()  # FRONTEND_SVC_CONFIG_MODULE_CLASS names the config class
    server = make_server('127.0.0.1', port, app, threaded=True)
    print(f'FRONTEND_READY http://127.0.0.1:{server.server_port}', flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
