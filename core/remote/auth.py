"""The bearer token of a remote-env link: where it is read from and how it is checked.

The token is read from a file (``--token-file``, or the ``token_file`` env setting) or from an
environment variable (``WARL_REMOTE_TOKEN`` by default), never from the command line or a
config file, so it never lands in ``config.json``, a log or a bench JSON. The serving side
compares it in constant time (`hmac.compare_digest`) during the WebSocket handshake and
answers 401 without it.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from warl.core.errors import ConfigError

TOKEN_ENV = "WARL_REMOTE_TOKEN"
MIN_TOKEN_LENGTH = 16


def read_token(token_file: str | os.PathLike[str] | None = None, env_var: str = TOKEN_ENV,
               environ: Mapping[str, str] | None = None) -> str:
    """The token from ``token_file`` if given, else from ``env_var``; one clear error line
    when neither holds one of at least `MIN_TOKEN_LENGTH` characters."""
    environ = os.environ if environ is None else environ
    if token_file is not None:
        path = Path(token_file).expanduser()
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {str(path)!r}: {exc.strerror}; "
                              f"create it with `warl serve --new-token {path}`") from None
        where = f"token file {str(path)!r}"
    else:
        token = environ.get(env_var, "").strip()
        where = f"environment variable {env_var}"
        if not token:
            raise ConfigError(f"no token: give a token file (--token-file F, or the env "
                              f"setting token_file) or set {env_var}")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"the {where} holds a token of {len(token)} characters; use at "
                          f"least {MIN_TOKEN_LENGTH} (`warl serve --new-token FILE` writes one)")
    return token


def write_new_token(path: str | os.PathLike[str]) -> str:
    """Write a fresh random token to ``path`` (readable by its owner only) and return it."""
    token = secrets.token_urlsafe(32)
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def bearer(token: str) -> dict[str, str]:
    """The HTTP header that carries ``token``."""
    return {"Authorization": f"Bearer {token}"}


def authorized(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (constant-time comparison)."""
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].strip().encode(), token.encode())
