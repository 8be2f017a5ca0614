"""Lab 06: a fix that is correct, fast and clean."""

from __future__ import annotations

from . import Wrong

LAB = 6

HEADER = """
    import asyncio

    from looplab.adapters.base import VLLMAdapterBase


    class Base(VLLMAdapterBase):
        client = None

        async def register_model(self, model_id):
            async with self._new_client() as client:
                return await self._validate_model(client, model_id)

        async def on_serving_start(self):
            self.client = self._new_client()

        async def on_serving_stop(self):
            await self.client.close()

        async def chat_completion(self, model, messages, *, stream=False, **params):
            return await self.client.chat.completions.create(model=model, messages=messages, stream=stream, **params)
"""


def fast(name: str, breaks: str, hint: str, body: str = "", adapter: str = "wrong_fast:FastAdapter") -> Wrong:
    return Wrong(name, breaks, hint, "fast_adapter", (adapter,), {"wrong_fast.py": HEADER + body} if body else {})


WRONG = [
    fast("the-start-up-client", "R1", "first request after start-up", adapter="broken"),
    fast("lazy-touched-at-start-up", "R1", "first request after start-up",
         adapter="looplab.adapters.wrong:LazyTouchedAtStartup"),
    fast("no-op-stop-hook", "R2", "connection(s) to vLLM are still open", """
    class FastAdapter(Base):  # lifespan-owned, but the stop hook does nothing
        async def on_serving_stop(self):
            pass
    """),
    fast("lazy-never-closed", "R2", "connection(s) to vLLM are still open", """
    class FastAdapter(Base):  # lazy on first use, never closed
        async def on_serving_start(self):
            pass

        async def on_serving_stop(self):
            pass

        async def chat_completion(self, model, messages, *, stream=False, **params):
            if self.client is None:
                self.client = self._new_client()
            return await super().chat_completion(model, messages, stream=stream, **params)
    """),
    fast("registration-client-dropped", "R2", "ResourceWarning", """
    class FastAdapter(Base):  # the registration client is dropped, not closed
        async def register_model(self, model_id):
            return await self._validate_model(self._new_client(), model_id)
    """),
    fast("a-loop-of-its-own-left-running", "R2", "event loop(s) it made unclosed", """
    import threading

    class FastAdapter(Base):  # lab 08's one loop, inside a server: the client lives on a loop in a thread
        async def on_serving_start(self):
            self.loop = asyncio.new_event_loop()
            threading.Thread(target=self.loop.run_forever, name="client-loop", daemon=True).start()
            self.client = await self._there(self._made())

        async def _made(self):
            return self._new_client()

        def _there(self, coroutine):
            return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

        async def on_serving_stop(self):
            await self._there(self.client.close())  # the client is closed; its loop and thread run on

        async def chat_completion(self, model, messages, *, stream=False, **params):
            request = self.client.chat.completions.create(model=model, messages=messages, stream=stream, **params)
            response = await self._there(request)
            return self._relayed(response) if stream else response

        async def _relayed(self, stream):
            chunks = stream.__aiter__()

            async def following():
                try:
                    return await chunks.__anext__()
                except StopAsyncIteration:
                    return None

            while (chunk := await self._there(following())) is not None:
                yield chunk
    """),
    fast("a-client-per-call", "R3", "a new connection for every request", adapter="per_call"),
    fast("per-call-with-a-shared-ssl-context", "R3", "a new connection for every request",
         adapter="per_call_shared_ssl"),
    fast("one-request-at-a-time", "R4", "never had more than 1 of your requests at once", """
    class FastAdapter(Base):  # one client, reused, and a lock around every request
        async def on_serving_start(self):
            await super().on_serving_start()
            self.lock = asyncio.Lock()

        async def chat_completion(self, model, messages, *, stream=False, **params):
            async with self.lock:
                return await super().chat_completion(model, messages, stream=stream, **params)
    """),
    fast("two-requests-at-a-time", "R4", "never had more than 2 of your requests at once", """
    class FastAdapter(Base):  # one client, reused, and a semaphore that lets two requests through at a time
        async def on_serving_start(self):
            await super().on_serving_start()
            self.gate = asyncio.Semaphore(2)

        async def chat_completion(self, model, messages, *, stream=False, **params):
            async with self.gate:
                return await super().chat_completion(model, messages, stream=stream, **params)
    """),
    fast("validates-the-model-on-every-request", "R4", "other requests", """
    class FastAdapter(Base):  # asks the backend for its models before every request
        async def chat_completion(self, model, messages, *, stream=False, **params):
            await self._validate_model(self.client, model)
            return await super().chat_completion(model, messages, stream=stream, **params)
    """),
]
