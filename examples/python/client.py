"""A Python client of the telemetry API: registers a device, sends readings with the device's
own key over HTTP, and follows them with the readingAdded subscription over WebSocket (the
graphql-ws protocol, spoken directly: it is four message types). Like the Node example, it
drops its connection on purpose after three readings and resumes from the last cursor it
received, then checks that every reading from the first one it received on arrived once, in
order.

    pip install -r examples/python/requirements.txt      # or: apt-get install python3-aiohttp python3-websockets
    TELEMETRY_ADMIN_KEY=tk_... python3 examples/python/client.py

Settings (environment): TELEMETRY_URL (http://127.0.0.1:4000), DEVICE_ID (python-example),
READINGS (10), INTERVAL (1 s).
"""

import asyncio
import json
import math
import os
import sys
import uuid
from datetime import datetime, timedelta, timezone

import aiohttp
import websockets

BASE_URL = os.environ.get("TELEMETRY_URL", "http://127.0.0.1:4000").rstrip("/")
ADMIN_KEY = os.environ["TELEMETRY_ADMIN_KEY"]
DEVICE_ID = os.environ.get("DEVICE_ID", "python-example")
READINGS = int(os.environ.get("READINGS", "10"))
INTERVAL = float(os.environ.get("INTERVAL", "1"))
HTTP_URL = f"{BASE_URL}/graphql"
WS_URL = "ws" + HTTP_URL[len("http"):]

REGISTER = "mutation($id: ID!, $name: String!) { registerDevice(input: { id: $id, name: $name }) { deviceKey } }"
ROTATE = "mutation($id: ID!) { rotateDeviceKey(deviceId: $id) { secret } }"
INGEST = "mutation($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount rejected { code message } } }"
READING_ADDED = (
    "subscription($deviceId: ID!, $after: String) {"
    " readingAdded(deviceId: $deviceId, after: $after) { timestamp metrics { name value } cursor } }"
)


class SubscriptionRefused(Exception):
    """An error the server marked not retryable: subscribing again unchanged would be refused again."""


class ConnectionRefused(Exception):
    """The server refused the key: it did not acknowledge connection_init, or closed the connection
    with 4401 Unauthorized or 4403 ("API key revoked", "unknown or revoked API key, ..."). Connecting again with the same key
    would be refused again."""


REFUSED_CLOSE_CODES = (4401, 4403)


class GraphQLError(Exception):
    def __init__(self, errors):
        super().__init__(errors[0].get("message"))
        self.code = errors[0].get("extensions", {}).get("code")


async def graphql(http: aiohttp.ClientSession, key: str, query: str, variables: dict) -> dict:
    async with http.post(HTTP_URL, json={"query": query, "variables": variables}, headers={"authorization": f"Bearer {key}"}) as response:
        body = await response.json(content_type=None)
    if body.get("errors"):
        raise GraphQLError(body["errors"])
    return body["data"]


async def device_key(http: aiohttp.ClientSession) -> str:
    """Registers the device, or gives it a new key when it exists already (keys are shown once)."""
    try:
        return (await graphql(http, ADMIN_KEY, REGISTER, {"id": DEVICE_ID, "name": DEVICE_ID}))["registerDevice"]["deviceKey"]
    except GraphQLError as error:
        if error.code != "ALREADY_EXISTS":
            raise
        return (await graphql(http, ADMIN_KEY, ROTATE, {"id": DEVICE_ID}))["rotateDeviceKey"]["secret"]


class Follower:
    """Follows readingAdded; when the connection drops, subscribes again after the last cursor."""

    def __init__(self):
        self.received: list = []
        self.cursor = None
        self.dropped = False

    async def run(self) -> None:
        """Ends only with a refusal (SubscriptionRefused, ConnectionRefused): the same call cannot get past it."""
        while True:
            try:
                await self.follow_once()
            except (asyncio.CancelledError, SubscriptionRefused, ConnectionRefused):
                raise
            except Exception as error:  # a dropped connection or a retryable end (SLOW_SUBSCRIBER): resume
                print("subscription ended:", error or type(error).__name__, "- resuming after", self.cursor, flush=True)
                await asyncio.sleep(1)

    async def follow_once(self) -> None:
        try:
            await self.subscribe_once()
        except websockets.ConnectionClosed as closed:
            # websockets >= 10: rcvd is the server's close frame (None when the connection just dropped).
            if closed.rcvd is not None and closed.rcvd.code in REFUSED_CLOSE_CODES:
                raise ConnectionRefused(f"{closed.rcvd.code} {closed.rcvd.reason}") from closed
            raise

    async def subscribe_once(self) -> None:
        async with websockets.connect(WS_URL, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {ADMIN_KEY}"}}))
            ack = json.loads(await ws.recv())  # a refused key: the server closes with 4403 instead
            if ack["type"] != "connection_ack":
                raise ConnectionRefused(f"connection_init answered with {ack}, not connection_ack")
            subscription = str(uuid.uuid4())
            variables = {"deviceId": DEVICE_ID, "after": self.cursor}
            await ws.send(json.dumps({"id": subscription, "type": "subscribe", "payload": {"query": READING_ADDED, "variables": variables}}))
            async for text in ws:
                message = json.loads(text)
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif message["type"] == "next":
                    reading = message["payload"]["data"]["readingAdded"]
                    self.cursor = reading["cursor"]
                    self.show(reading)
                    if len(self.received) == 3 and not self.dropped:
                        self.dropped = True
                        print("dropping the connection; the readings sent meanwhile arrive when it resumes", flush=True)
                        return  # leaving the block closes the socket, as a network failure would
                elif message["type"] == "error":
                    errors = message["payload"]
                    refusal = next((e for e in errors if e.get("extensions", {}).get("retryable") is False), None)
                    if refusal:
                        raise SubscriptionRefused(f"{refusal['extensions'].get('code')}: {refusal.get('message')}")
                    raise RuntimeError(f"subscription ended: {errors}")
                elif message["type"] == "complete":
                    raise RuntimeError("the server completed the subscription")

    def show(self, reading: dict) -> None:
        self.received.append(reading["timestamp"])
        print(reading["timestamp"], {m["name"]: m["value"] for m in reading["metrics"]}, flush=True)


def stop_if_refused(following: asyncio.Task) -> None:
    """The follower ends only when refused: raises its refusal, which ends the client."""
    if following.done():
        following.result()


async def main() -> None:
    async with aiohttp.ClientSession() as http:
        key = await device_key(http)
        follower = Follower()
        following = asyncio.create_task(follower.run())
        # The device: one reading per interval, timestamps one second apart in the recent past.
        # It goes on past READINGS until the drop has happened (the subscription may start late).
        start = datetime.now(timezone.utc) - timedelta(seconds=READINGS * 10 + 60)
        sent: list = []
        i = 0
        while i < READINGS or (not follower.dropped and i < READINGS * 10):
            stop_if_refused(following)
            timestamp = (start + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            reading = {"deviceId": DEVICE_ID, "timestamp": timestamp, "metrics": [{"name": "temperature", "value": 20 + math.sin(i / 3)}]}
            answer = (await graphql(http, key, INGEST, {"r": reading}))["ingestReading"]
            if answer["acceptedCount"] != 1:
                raise RuntimeError(f"reading refused: {answer['rejected']}")
            sent.append(timestamp)
            i += 1
            await asyncio.sleep(INTERVAL)

        # Wait for the last reading, then check: everything from the first one received on arrived once, in order.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while (not follower.received or follower.received[-1] != sent[-1]) and loop.time() < deadline:
            stop_if_refused(following)
            await asyncio.sleep(0.05)
        following.cancel()
        received = follower.received
        expected = sent[sent.index(received[0]):] if received and received[0] in sent else sent
        if not follower.dropped or received != expected:
            print(f"FAILED: sent {expected}, received {received}", file=sys.stderr)
            sys.exit(1)
        print(f"ok: {len(received)} readings received in order, no gap across the dropped connection")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except SubscriptionRefused as refusal:
        sys.exit(f"subscription refused: {refusal}")
    except ConnectionRefused as refusal:
        sys.exit(f"connection refused: {refusal}: check the key (TELEMETRY_ADMIN_KEY)")
