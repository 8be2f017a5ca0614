"""Lab 01: the crash behind a cached getter (1a), and the fix that keeps the reuse (1b)."""

from __future__ import annotations

from . import Wrong

LAB = 1

HEADER = """
    import asyncio, functools, sys
    import openai

    def new_client():
        return openai.AsyncOpenAI(base_url=sys.argv[1], api_key="x", max_retries=0)

    async def ask(client, name, n):
        reply = await client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": f"{name} {n}"}])
        return reply.choices[0].message.content
"""

CACHED_JOBS = HEADER + """
    get_client = functools.cache(new_client)

    async def job(name):
        for n in (1, 2):
            print(await ask(get_client(), name, n))

    asyncio.run(job("first"))
    asyncio.run(job("second"))
"""


def crash(name: str, breaks: str, hint: str, body: str) -> Wrong:
    return Wrong(name, breaks, hint, "crash_script", ("crash_lab.py",), {"crash_lab.py": HEADER + body})


def fixed(name: str, breaks: str, hint: str, source: str) -> Wrong:
    return Wrong(name, breaks, hint, "fixed_script", ("fixed_lab.py",), {"fixed_lab.py": source})


WRONG = [
    crash("a-client-per-job", "R1", "did not share one client", """
    async def job(name):
        client = new_client()  # made inside the job: its own loop
        for n in (1, 2):
            print(await ask(client, name, n))

    asyncio.run(job("first"))
    asyncio.run(job("second"))
    """),
    crash("no-request-in-the-first-job", "R2", "all ran on one loop", """
    get_client = functools.cache(new_client)

    async def job(name):
        print(await ask(get_client(), name, 1))

    async def idle():
        get_client()  # made on loop 1, but nothing pooled there

    asyncio.run(idle())
    asyncio.run(job("second"))
    """),
    crash("the-crash-swallowed", "R3", "not with the crash we want", """
    get_client = functools.cache(new_client)

    async def job(name):
        for n in (1, 2):
            print(await ask(get_client(), name, n))

    asyncio.run(job("first"))
    try:
        asyncio.run(job("second"))
    except Exception:
        sys.exit("the second job failed")  # the crash's own words are lost
    """),
    fixed("the-cached-getter", "R4", "it still crashes", CACHED_JOBS),
    fixed("a-job-dropped", "R5", "the jobs make 4", HEADER + """
    async def job(name):
        async with new_client() as client:
            for n in (1, 2):
                print(await ask(client, name, n))

    asyncio.run(job("first"))  # the second job is gone: nothing left to crash
    """),
    fixed("a-client-per-request", "R6", "a new client for every request", HEADER + """
    async def job(name):
        for n in (1, 2):
            async with new_client() as client:  # a new client, and connection, for every request
                print(await ask(client, name, n))

    asyncio.run(job("first"))
    asyncio.run(job("second"))
    """),
    fixed("a-client-per-loop-never-closed", "R7", "unclosed transport", HEADER + """
    clients = {}

    def get_client():  # one per running loop: no crash, but nothing closes them
        loop = asyncio.get_running_loop()
        if loop not in clients:
            clients[loop] = new_client()
        return clients[loop]

    async def job(name):
        for n in (1, 2):
            print(await ask(get_client(), name, n))

    asyncio.run(job("first"))
    asyncio.run(job("second"))
    """),
]
