"""Lab 02: the lazy fix as Llama Stack 0.2.3 shipped it."""

from __future__ import annotations

from . import Wrong

LAB = 2

HEADER = """
    from looplab.adapters.base import VLLMAdapterBase

    class Base(VLLMAdapterBase):
        client = None

        async def chat_completion(self, model, messages, *, stream=False, **params):
            if self.client is None:
                self.client = self._new_client()
            return await self.client.chat.completions.create(model=model, messages=messages, stream=stream)

        async def shutdown(self):
            if self.client is not None:
                await self.client.close()
"""


def lazy(name: str, breaks: str, hint: str, body: str) -> Wrong:
    return Wrong(name, breaks, hint, "lazy_adapter", ("wrong_lazy:VLLMInferenceAdapter",),
                 {"wrong_lazy.py": HEADER + body})


WRONG = [
    lazy("no-validation", "R1", "accepted a model the backend does not serve", """
    class VLLMInferenceAdapter(Base):  # never checks that the backend serves it
        async def register_model(self, model_id):
            return {"identifier": model_id, "provider_resource_id": model_id, "provider_id": "vllm"}
    """),
    lazy("client-in-initialize", "R2", "first request after start-up crashed", """
    class VLLMInferenceAdapter(Base):  # 0.2.2: the client is made in initialize()
        async def initialize(self):
            self.client = self._new_client()

        async def register_model(self, model_id):
            return await self._validate_model(self.client, model_id)
    """),
    lazy("kept-from-register-model", "R2", "first request after start-up crashed", """
    class VLLMInferenceAdapter(Base):  # lazy, but register_model is the first use, on the start-up loop
        async def register_model(self, model_id):
            self.client = self.client or self._new_client()
            return await self._validate_model(self.client, model_id)
    """),
    lazy("stream-not-passed-on", "R3", "the streamed request", """
    class VLLMInferenceAdapter(Base):  # forgets stream=: a stream request gets a whole answer
        async def register_model(self, model_id):
            if self.client is not None:
                return await self._validate_model(self.client, model_id)
            async with self._new_client() as client:
                return await self._validate_model(client, model_id)

        async def chat_completion(self, model, messages, *, stream=False, **params):
            if self.client is None:
                self.client = self._new_client()
            return await self.client.chat.completions.create(model=model, messages=messages)
    """),
    lazy("a-client-per-call", "R4", "a new client for every call", """
    class VLLMInferenceAdapter(Base):  # a client per call: correct, but not what 0.2.3 did
        async def register_model(self, model_id):
            async with self._new_client() as client:
                return await self._validate_model(client, model_id)

        async def chat_completion(self, model, messages, *, stream=False, **params):
            if stream:
                return self._stream(model, messages)
            async with self._new_client() as client:
                return await client.chat.completions.create(model=model, messages=messages)

        async def _stream(self, model, messages):
            async with self._new_client() as client:
                async for chunk in await client.chat.completions.create(model=model, messages=messages, stream=True):
                    yield chunk
    """),
    lazy("closes-the-kept-client", "R5", "register_model closed the client the requests use", """
    class VLLMInferenceAdapter(Base):  # closes the kept client when registering while serving
        async def register_model(self, model_id):
            async with (self.client or self._new_client()) as client:
                return await self._validate_model(client, model_id)
    """),
    lazy("throwaway-never-closed", "R6", "a client was never closed", """
    class VLLMInferenceAdapter(Base):  # 0.2.3 exactly: the throwaway start-up client is never closed
        async def register_model(self, model_id):
            client = self._new_client() if self.client is None else self.client
            return await self._validate_model(client, model_id)
    """),
]
