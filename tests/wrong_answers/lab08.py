"""Lab 08: the sync bridge (module files, as the lab's %%writefile cell writes bridge.py)."""

from __future__ import annotations

from . import Wrong

LAB = 8

ANSWER = '''
import asyncio, threading
import openai
_loop = asyncio.new_event_loop()
_thread = threading.Thread(target=_loop.run_forever, name="openai-loop", daemon=True)
_thread.start()
_clients = {}
async def _ask(base_url, text):
    if base_url not in _clients:
        _clients[base_url] = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    reply = await _clients[base_url].chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content
def ask(base_url, text):
    return asyncio.run_coroutine_threadsafe(_ask(base_url, text), _loop).result(timeout=60)
async def _close():
    for client in _clients.values():
        await client.close()
def close():
    asyncio.run_coroutine_threadsafe(_close(), _loop).result(timeout=60)
    _loop.call_soon_threadsafe(_loop.stop)
    _thread.join(timeout=60)
    _loop.close()
'''
_CLOSE_THE_CLIENTS = "    asyncio.run_coroutine_threadsafe(_close(), _loop).result(timeout=60)\n"
_STOP_AND_CLOSE_THE_LOOP = ("    _loop.call_soon_threadsafe(_loop.stop)\n    _thread.join(timeout=60)\n"
                            "    _loop.close()\n")

_RUN_PER_CALL = '''
import asyncio, threading
import openai
_local = threading.local()
{setup}
def ask(base_url, text):
    async def go():
        {body}
    {call}
def close():
    pass
'''
_CREATE = ('reply = await {client}.chat.completions.create(model="tiny-llama", messages=[{{"role": "user", '
           '"content": text}}])\n        return reply.choices[0].message.content')
_PER_THREAD = ("def _get(base_url):\n    if not hasattr(_local, 'c'):\n"
               "        _local.c = openai.AsyncOpenAI(base_url=base_url, api_key='x', max_retries=0)\n    return _local.c")


def bridge(name: str, breaks: str, hint: str, source: str) -> Wrong:
    return Wrong(name, breaks, hint, "sync_bridge", ("bridge.py", 3), {"bridge.py": source})  # a hang costs 3 s


LOOP_PER_THREAD = '''
import asyncio, threading
import openai
_local = threading.local()
def _mine():
    if not hasattr(_local, "loop"):  # this thread's own loop and client, kept for its next calls
        _local.loop, _local.client = asyncio.new_event_loop(), None
    return _local
def ask(base_url, text):
    mine = _mine()
    async def go():
        if mine.client is None:
            mine.client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
        reply = await mine.client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": text}])
        return reply.choices[0].message.content
    return mine.loop.run_until_complete(go())
def close():
    mine = _mine()  # the calling thread's loop and client only
    if mine.client is not None:
        mine.loop.run_until_complete(mine.client.close())
    mine.loop.close()
'''

WRONG = [
    bridge("returns-the-reply-object", "R1", "return the answer's text",
           ANSWER.replace("return reply.choices[0].message.content", "return reply")),
    # the first version: one client, asyncio.run per call (what the lab starts from)
    bridge("one-client-asyncio-run-per-call", "R2", "Every asyncio.run makes a new loop", _RUN_PER_CALL.format(
        setup="_client = openai.AsyncOpenAI(base_url='http://127.0.0.1:9/v1', api_key='x', max_retries=0)\n"
              "def _get(base_url):\n    global _client\n    _client.base_url = base_url\n    return _client",
        body=_CREATE.format(client="_get(base_url)"), call="return asyncio.run(go())")),
    # a client per thread is not a client per loop
    bridge("a-client-per-thread", "R2", "Every asyncio.run makes a new loop", _RUN_PER_CALL.format(
        setup=_PER_THREAD, body=_CREATE.format(client="_get(base_url)"), call="return asyncio.run(go())")),
    # one loop made but never run: every call waits forever
    bridge("loop-never-started", "R2", "threads were still waiting after 3 s",
           ANSWER.replace("_thread.start()\n", "").replace(".result(timeout=60)", ".result()")),
    # the crash "fixed" by trying again: every second call is generated twice
    bridge("tries-again-on-failure", "R3", "some were sent twice", _RUN_PER_CALL.format(
        setup=_PER_THREAD, body=_CREATE.format(client="_get(base_url)"),
        call="try:\n        return asyncio.run(go())\n    except Exception:\n        return asyncio.run(go())")),
    # correct, and a connection per call
    bridge("a-client-per-call", "R4", "no connection carried a second request", _RUN_PER_CALL.format(
        setup="", body="async with openai.AsyncOpenAI(base_url=base_url, api_key='x', max_retries=0) as client:\n"
                       "            " + _CREATE.format(client="client").replace("\n        ", "\n            "),
        call="return asyncio.run(go())")),
    bridge("no-close", "R5", "no close()", ANSWER.split("async def _close")[0]),
    bridge("close-forgets-the-client", "R5", "close() must close the client", ANSWER.replace(_CLOSE_THE_CLIENTS, "")),
    bridge("close-leaves-the-loop-running", "R6", "is still running",
           ANSWER.replace(_STOP_AND_CLOSE_THE_LOOP, "    _clients.clear()\n")),
    bridge("a-loop-and-client-per-thread", "R6", "a connection of its own", LOOP_PER_THREAD),
]
