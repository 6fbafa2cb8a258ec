"""sdcpp-server: the AUTOMATIC1111 and OpenAI image APIs, a native jobs API and a web page over one
:class:`sdcpp.Context`.

Start it with ``sdcpp-server -m model.gguf`` (needs ``pip install "sdcpp[server]"``), or build the
ASGI app yourself::

    from sdcpp.server import ServerSettings, create_app
    app = create_app(ServerSettings(model="sd15-q4_0.gguf"))

Endpoints and field mappings are documented in docs/server.md.
"""
from __future__ import annotations

try:
    import fastapi as _fastapi  # noqa: F401
    import uvicorn as _uvicorn  # noqa: F401
except ImportError as _error:  # pragma: no cover - depends on the install
    raise ImportError(f"sdcpp-server needs the 'server' extra ({_error.name} is missing): "
                      "pip install 'sdcpp[server]'") from _error

from .app import create_app
from .settings import GenerationDefaults, ServerSettings

__all__ = ["GenerationDefaults", "ServerSettings", "create_app"]
