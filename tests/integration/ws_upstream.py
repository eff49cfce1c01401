#!/usr/bin/python3
"""A WebSocket echo upstream for integration tests (python3-websockets), on 127.0.0.1.

Each handshake is recorded; a connection echoes every message back as it came (text as text,
binary as binary), except:
  "__handshake__"   answers JSON {"path", "headers" ([name, value] as received), "subprotocol"}
Plain HTTP requests (no upgrade) get JSON answers:
  GET /stats        {"handshakes": N, "closes": [{"code", "reason"}, ...]} (closes in order)
  anything else     426
It accepts the subprotocol "chat" when the client offers it. Prints "PORT <n>" once listening.
"""
import asyncio
import http
import json
import sys

import websockets

handshakes = 0
closes = []


async def process_request(path, headers):
    upgrade = headers.get("Upgrade", "")
    if "websocket" in upgrade.lower():
        global handshakes
        handshakes += 1
        return None
    if path == "/stats":
        body = json.dumps({"handshakes": handshakes, "closes": closes}).encode()
        return http.HTTPStatus.OK, [("Content-Type", "application/json")], body
    return http.HTTPStatus.UPGRADE_REQUIRED, [("Content-Type", "text/plain")], b"websocket only\n"


async def handle(ws):
    try:
        async for message in ws:
            if message == "__handshake__":
                await ws.send(json.dumps({"path": ws.path, "headers": [[n, v] for n, v in ws.request_headers.raw_items()],
                                          "subprotocol": ws.subprotocol}))
            else:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        closes.append({"code": ws.close_code, "reason": ws.close_reason})


async def main():
    async with websockets.serve(handle, "127.0.0.1", 0, process_request=process_request, subprotocols=["chat"],
                                max_size=None, ping_interval=None, compression=None) as server:
        print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
