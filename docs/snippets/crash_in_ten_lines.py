import asyncio, sys
import openai

client = openai.AsyncOpenAI(base_url=sys.argv[1], api_key="x", max_retries=0)

async def ask():
    reply = await client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "hi"}])
    return reply.choices[0].message.content

print("loop 1:", asyncio.run(ask()))
print("loop 2:", asyncio.run(ask()))
