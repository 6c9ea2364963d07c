"""A Python client of the telemetry API with gql: registers a device, sends readings with the
device's own key over HTTP, and follows them with the readingAdded subscription over WebSocket
(graphql-ws protocol). When the connection drops it subscribes again after the last cursor it
received, so no reading is missed or repeated.

    pip install -r examples/python/requirements.txt
    TELEMETRY_ADMIN_KEY=tk_... python3 examples/python/client.py

Settings (environment): TELEMETRY_URL (http://127.0.0.1:4000), DEVICE_ID (python-example),
READINGS (10), INTERVAL (1 s).
"""

import asyncio
import math
import os
from datetime import datetime, timedelta, timezone

from gql import Client, gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

BASE_URL = os.environ.get("TELEMETRY_URL", "http://127.0.0.1:4000")
ADMIN_KEY = os.environ["TELEMETRY_ADMIN_KEY"]
DEVICE_ID = os.environ.get("DEVICE_ID", "python-example")
READINGS = int(os.environ.get("READINGS", "10"))
INTERVAL = float(os.environ.get("INTERVAL", "1"))
HTTP_URL = f"{BASE_URL}/graphql"
WS_URL = HTTP_URL.replace("http", "ws", 1)

REGISTER = gql("mutation($id: ID!, $name: String!) { registerDevice(input: { id: $id, name: $name }) { deviceKey } }")
ROTATE = gql("mutation($id: ID!) { rotateDeviceKey(deviceId: $id) { secret } }")
INGEST = gql("mutation($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount rejected { code message } } }")
READING_ADDED = gql(
    "subscription($deviceId: ID!, $after: String) {"
    " readingAdded(deviceId: $deviceId, after: $after) { timestamp metrics { name value } cursor } }"
)


def http_client(key: str) -> Client:
    return Client(transport=AIOHTTPTransport(url=HTTP_URL, headers={"authorization": f"Bearer {key}"}))


async def device_key() -> str:
    """Registers the device, or gives it a new key when it exists already (keys are shown once)."""
    async with http_client(ADMIN_KEY) as session:
        try:
            result = await session.execute(REGISTER, variable_values={"id": DEVICE_ID, "name": DEVICE_ID})
            return result["registerDevice"]["deviceKey"]
        except TransportQueryError as error:
            if (error.errors or [{}])[0].get("extensions", {}).get("code") != "ALREADY_EXISTS":
                raise
            result = await session.execute(ROTATE, variable_values={"id": DEVICE_ID})
            return result["rotateDeviceKey"]["secret"]


async def follow(received: list) -> None:
    """Prints every reading of the device, resuming after the last cursor when the connection drops."""
    cursor = None
    while True:
        transport = WebsocketsTransport(url=WS_URL, init_payload={"authorization": f"Bearer {ADMIN_KEY}"})
        try:
            async with Client(transport=transport) as session:
                variables = {"deviceId": DEVICE_ID, "after": cursor}
                async for event in session.subscribe(READING_ADDED, variable_values=variables):
                    reading = event["readingAdded"]
                    cursor = reading["cursor"]
                    received.append(reading["timestamp"])
                    print(reading["timestamp"], {m["name"]: m["value"] for m in reading["metrics"]})
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a dropped connection or a SLOW_SUBSCRIBER end: resume
            print("subscription ended:", error, "- resuming after", cursor)
            await asyncio.sleep(1)


async def main() -> None:
    key = await device_key()
    received: list = []
    follower = asyncio.create_task(follow(received))
    start = datetime.now(timezone.utc) - timedelta(seconds=READINGS + 60)
    async with http_client(key) as device:
        for i in range(READINGS):
            timestamp = (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
            reading = {"deviceId": DEVICE_ID, "timestamp": timestamp, "metrics": [{"name": "temperature", "value": 20 + math.sin(i / 3)}]}
            await device.execute(INGEST, variable_values={"r": reading})
            await asyncio.sleep(INTERVAL)
    await asyncio.sleep(2)  # let the last readings arrive before stopping
    follower.cancel()
    print(f"received {len(received)} of {READINGS} readings")


if __name__ == "__main__":
    asyncio.run(main())
