"""Lab 05: the per-call fix, streams included, nothing leaked."""

from __future__ import annotations

from . import Wrong

LAB = 5

HEADER = """
    from looplab.adapters.base import VLLMAdapterBase


    class Base(VLLMAdapterBase):
        async def register_model(self, model_id):
            async with self._new_client() as client:
                return await self._validate_model(client, model_id)

        async def chat_completion(self, model, messages, *, stream=False, **params):
            request = dict(model=model, messages=messages, stream=stream, **params)
            if stream:
                return self._stream(request)
            async with self._new_client() as client:
                return await client.chat.completions.create(**request)

        async def _stream(self, request):
            client = self._new_client()
            try:
                async for chunk in await client.chat.completions.create(**request):
                    yield chunk
            finally:
                await client.close()
"""


def per_call(name: str, breaks: str, hint: str, body: str = "", adapter: str = "wrong_per_call:PerCallAdapter") -> Wrong:
    return Wrong(name, breaks, hint, "per_call_adapter", (adapter,), {"wrong_per_call.py": HEADER + body} if body else {})


WRONG = [
    per_call("closed-before-the-stream-is-read", "R1", "streams fail",
             adapter="looplab.adapters.wrong:ClosedBeforeStreamPerCall"),
    per_call("one-client-reused", "R2", "a client is being reused", adapter="lifespan"),
    per_call("plain-client-never-closed", "R3", "plain calls leave their clients open", """
    class PerCallAdapter(Base):
        async def chat_completion(self, model, messages, *, stream=False, **params):
            request = dict(model=model, messages=messages, stream=stream, **params)
            if stream:
                return self._stream(request)
            client = self._new_client()  # never closed
            return await client.chat.completions.create(**request)
    """),
    per_call("never-closed", "R3", "plain calls leave their clients open (streamed calls too)",
             adapter="looplab.adapters.wrong:NeverClosedPerCall"),
    per_call("stream-client-never-closed", "R3", "streamed calls leave their clients open", """
    class PerCallAdapter(Base):
        async def _stream(self, request):  # the stream's client is never closed
            client = self._new_client()
            async for chunk in await client.chat.completions.create(**request):
                yield chunk
    """),
    per_call("no-validation", "R4", "accepted a model the backend does not serve", """
    class PerCallAdapter(Base):
        async def register_model(self, model_id):  # never asks the backend
            return {"identifier": model_id, "provider_resource_id": model_id, "provider_id": "vllm"}
    """),
    per_call("registration-client-dropped", "R5", "the client register_model used at start-up", """
    class PerCallAdapter(Base):
        async def register_model(self, model_id):  # checks the model, and drops the client open
            return await self._validate_model(self._new_client(), model_id)
    """),
]
