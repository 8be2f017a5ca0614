"""``per_call_shared_ssl``: per-call clients that share one SSL context (upstream #4486).

Most of an ``AsyncOpenAI``'s construction time is ``ssl.create_default_context()`` (even for
``http://`` URLs): building it once and handing every per-call client the same context keeps the
per-call fix's correctness and removes most of its cost. An SSL context holds no loop state, so
sharing it across loops is safe; sharing the *client* is not.
"""

from __future__ import annotations

import ssl

import openai

from .per_call import PerCallAdapter

#: The openai client's default async HTTP client class: openai 3.x talks through httpx2, openai 1.x
#: through httpx, so this is the one of the installed client.
AsyncHttpClient = getattr(openai, "DefaultAsyncHttpx2Client", None) or openai.DefaultAsyncHttpxClient


class PerCallSharedSSLAdapter(PerCallAdapter):
    _ssl_context: ssl.SSLContext | None = None

    def _new_client(self) -> openai.AsyncOpenAI:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        http_client = AsyncHttpClient(verify=self._ssl_context, timeout=self.config.timeout)
        return openai.AsyncOpenAI(**self._client_options(), http_client=http_client)
