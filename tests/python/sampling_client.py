"""The Python MCP SDK's client answering sampling like a model would, against
the real repl-mcp binary (argv[1]): a python session's sleep outlives its
timeout, the strategy asks the LLM, this callback answers Ctrl-C, and the
call ends at the prompt. Also lists and calls tools (the SDK validates
structured results against output schemas). Exit status 0 on success."""

import asyncio
import os
import sys
import tempfile

from mcp import ClientSession, types
from mcp.client.stdio import StdioServerParameters, stdio_client

prompts = []


async def model(context, params):
    text = "\n".join(
        c.text for m in params.messages for c in ([m.content] if not isinstance(m.content, list) else m.content)
        if getattr(c, "type", None) == "text"
    )
    prompts.append(text)
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text="Interrupt it.\nSEND:\\x03"),
        model="pretend",
    )


async def main(binary):
    home = tempfile.mkdtemp(prefix="repl-mcp-py-")
    env = dict(os.environ, XDG_CONFIG_HOME=home, XDG_STATE_HOME=os.path.join(home, "state"),
               REPL_MCP_LOG="warn")
    server = StdioServerParameters(command=binary, args=["serve", "--no-web-ui"], env=env)
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write, sampling_callback=model) as session:
            await session.initialize()
            tools = await session.list_tools()
            assert len(tools.tools) == 14, [t.name for t in tools.tools]
            r = await session.call_tool("create_session", {"presetConfig": "python"})
            sid = r.structured_content["sessionId"]
            r = await session.call_tool("send_input_to_session", {
                "sessionId": sid, "input": "import time; time.sleep(100)",
                "options": {"wait_for_prompt": True, "timeout": 1000}})
            out = r.structured_content
            assert out["state"] == "ready", out
            assert "KeyboardInterrupt" in out["output"], out
            assert any("client's model answered" in s for s in out["recoverySteps"]), out
            assert len(prompts) == 1 and "time.sleep(100)" in prompts[0], prompts
            r = await session.call_tool("answer_session_question", {"sessionId": sid, "answer": "WAIT:inf"})
            assert r.is_error and "WAIT needs a number" in r.structured_content["error"], r
            r = await session.call_tool("destroy_repl_session", {"sessionId": sid})
            assert not r.is_error
    print("python sdk: sampling answered and carried out")


asyncio.run(main(sys.argv[1]))
