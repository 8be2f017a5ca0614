"""What the lint knows before it reads a line: its rules, the constructors of async clients, the
names of start-up code and of servers. Plain data; :mod:`.config` adds a project's own."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: rule -> (name, the fix it points to). The table on the site and its translation are made from it.
RULES = {
    "LL001": ("client-made-at-startup", "lifespan-owned (make it when serving starts, on the serving loop), or per-loop"),
    "LL002": ("run-then-serve", "one loop: run start-up inside the server's lifespan instead of a separate asyncio.run"),
    "LL003": ("loop-blind-cache", "per-loop: key the cache by the running loop (weakly), and close a loop's clients before it ends"),
    "LL004": ("unclosed-client", "per-call done right: `async with` the client, or close it in a `finally`"),
    "LL005": ("client-crosses-runs", "one loop for every run (loop.run_until_complete), or make the client inside each run"),
}

#: module -> names that make an async client (or a pool, an engine, a channel): each holds
#: connections that belong to one event loop. Open-ended: see :func:`is_constructor`.
CONSTRUCTORS: dict[str, frozenset[str]] = {m: frozenset(n.split()) for m, n in {
    "openai": "AsyncOpenAI AsyncAzureOpenAI DefaultAsyncHttpxClient DefaultAsyncHttpx2Client DefaultAioHttpClient",
    "anthropic": "AsyncAnthropic AsyncAnthropicBedrock AsyncAnthropicVertex DefaultAsyncHttpxClient DefaultAioHttpClient",
    "httpx": "AsyncClient AsyncHTTPTransport", "httpx2": "AsyncClient AsyncHTTPTransport",
    "aiohttp": "ClientSession TCPConnector UnixConnector",
    "sqlalchemy.ext.asyncio": "create_async_engine",
    "redis.asyncio": "Redis StrictRedis RedisCluster ConnectionPool BlockingConnectionPool from_url",
    "redis.asyncio.client": "Redis StrictRedis", "redis.asyncio.cluster": "RedisCluster",
    "motor.motor_asyncio": "AsyncIOMotorClient", "pymongo": "AsyncMongoClient",
    "pymongo.asynchronous.mongo_client": "AsyncMongoClient",
    "google.genai": "Client", "google.genai.client": "Client AsyncClient",
    "grpc.aio": "insecure_channel secure_channel",
    "asyncpg": "create_pool", "aiobotocore.session": "AioSession",
}.items()}
#: classmethods that build an instance of a constructor above (``redis.asyncio.Redis.from_url(...)``)
ALTERNATE = frozenset({"from_url", "from_pool", "from_connection_string"})
#: these bind to the running loop when they are made, not at their first request: made in start-up
#: code, they belong to the start-up loop even if start-up never uses them
BINDS_AT_CONSTRUCTION = frozenset({"aiohttp.ClientSession", "aiohttp.TCPConnector", "aiohttp.UnixConnector",
                                   "grpc.aio.insecure_channel", "grpc.aio.secure_channel"})
#: SDK families whose ``Async...`` classes are clients wrapping an HTTP (or gRPC) client
SDK_PACKAGES = frozenset("""openai anthropic groq mistralai cohere together fireworks cerebras xai_sdk google
    ollama voyageai replicate huggingface_hub elasticsearch qdrant_client pinecone weaviate openrouter
    azure boto3 aioboto3 litellm sambanova ibm_watsonx_ai""".split())
_OPEN = re.compile(r"(?:^Async\w*(?:Client|OpenAI|Anthropic|Groq|Mistral|Together|Fireworks|Cerebras)$)|AsyncClient$")
#: a class of the scanned code that holds a client made in its __init__ is a client itself when its
#: name says so (litellm's AsyncHTTPHandler around an httpx.AsyncClient)
WRAPPER_NAME = re.compile(r"(Client|Session|Handler|Pool|Engine|Connection|Transport)$")


def is_constructor(full: str) -> bool:
    """``full``: a resolved dotted name (``httpx.AsyncClient``, ``openai.AsyncOpenAI``)."""
    module, _, name = full.rpartition(".")
    if name in CONSTRUCTORS.get(module, ()):
        return True
    if name in ALTERNATE and module and is_constructor(module):
        return True
    for known, names in CONSTRUCTORS.items():  # openai._client.AsyncOpenAI, httpx._client.AsyncClient
        if name in names and module.startswith(known + ".") and not known.startswith("google"):
            return True
    top = full.split(".", 1)[0]
    return bool(module) and bool(_OPEN.search(name)) and (top in SDK_PACKAGES or name.endswith("AsyncClient"))


def binds_at_construction(full: str, extra: frozenset[str] = frozenset()) -> bool:
    """A constructor whose object takes the running loop when it is made (``aiohttp.client.ClientSession`` too)."""
    top, name = full.split(".", 1)[0], full.rpartition(".")[2]
    return full in extra or any(b.rpartition(".")[2] == name and b.split(".", 1)[0] == top for b in BINDS_AT_CONSTRUCTION)


#: start-up code: it may run on a loop of its own (asyncio.run(construct_stack()), a thread's
#: asyncio.run) before a server serves on another. Not the serving loop's own hooks (a lifespan, an
#: on_startup handler): making the client there is the lifespan-owned fix.
STARTUP = frozenset({"__init__", "__post_init__", "initialize", "init", "setup", "boot", "async_init"})
#: method names too common to say that a method of another class runs at start-up when called there
GENERIC = frozenset({"get", "set", "list", "create", "update", "delete", "run", "close", "aclose", "start", "stop",
                     "send", "request", "query", "execute", "fetch", "read", "write", "call", "invoke"})
#: calls that start a server with a loop of its own
SERVERS = frozenset({"uvicorn.run", "web.run_app", "aiohttp.web.run_app", "hypercorn.run", "gunicorn.run",
                     "granian.Granian", "uvicorn.Server.run"})
SERVER_SUFFIXES = ("serve_forever", "run_app")
#: classes whose instances are the web application a server serves
APP_CLASSES = frozenset({"fastapi.FastAPI", "starlette.applications.Starlette", "aiohttp.web.Application",
                         "quart.Quart", "litestar.Litestar", "sanic.Sanic"})
#: calls that run a coroutine on a loop of their own: name -> how the coroutine is given
RUNNERS = {"asyncio.run": "arg", "anyio.run": "fn", "asyncio.runners.run": "arg"}
CLOSERS = frozenset({"close", "aclose", "dispose", "shutdown", "disconnect"})
CACHE_DECORATORS = frozenset({"cache", "lru_cache", "cached", "cache_resource", "alru_cache", "cached_property"})
CACHE_METHODS = frozenset({"set_cache", "setdefault", "__setitem__", "put", "set", "add", "cache", "store"})


@dataclass(frozen=True)
class Finding:
    rule: str
    name: str
    path: str
    line: int
    col: int
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col + 1}: {self.rule} {self.name}: {self.message} (fix: {self.fix})"
