"""``lstm serve``: the tools as one local web server (FastAPI on uvicorn, the optional extra
``lstm-cli[serve]``).

- ``app.py``: :func:`create_app`, the endpoints (one JSON API per tool; /docs documents them),
  the errors they share, the body-size guard;
- ``schemas.py``: requests and responses, with every input's bound;
- ``work.py``: what each endpoint asks of the models, through the same task functions as its
  command in cli/;
- ``pool.py``: the models, loaded on first use and kept, and the bounded worker threads.

Nothing here is imported by ``lstm --help``: cli/serve.py imports it inside the command.
"""

from lstm_cli.serve.app import create_app

__all__ = ["create_app"]
