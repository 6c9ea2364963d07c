#!/usr/bin/env bash
# A device without a GraphQL client: sends one reading per call to POST /ingest with its own
# device key (registerDevice returns it as deviceKey; rotateDeviceKey replaces it). curl exits
# non-zero, printing the service's answer, when a reading is not accepted; a 503 (the service
# is away or busy) is retried after its Retry-After, as a device should.
#
#   DEVICE_KEY=tk_... DEVICE_ID=boiler-1 examples/curl/device.sh
#
# Settings (environment): TELEMETRY_URL (http://127.0.0.1:4000), READINGS (10), INTERVAL (1 s).
set -euo pipefail
: "${DEVICE_KEY:?set DEVICE_KEY to the device key registerDevice returned}"
: "${DEVICE_ID:?set DEVICE_ID to the device the key belongs to}"
url="${TELEMETRY_URL:-http://127.0.0.1:4000}/ingest"
readings="${READINGS:-10}"
interval="${INTERVAL:-1}"

for ((i = 1; i <= readings; i++)); do
  # Epoch milliseconds: the service takes them as well as RFC 3339 text.
  now_ms=$(($(date +%s%N) / 1000000))
  temperature=$(awk -v i="$i" 'BEGIN { printf "%.2f", 20 + 2 * sin(i / 3) }')
  # The event id makes a resent reading count once (the service deduplicates on it).
  body="{\"deviceId\":\"$DEVICE_ID\",\"timestamp\":$now_ms,\"eventId\":\"$DEVICE_ID-$now_ms\",\"metrics\":[{\"name\":\"temperature\",\"value\":$temperature}]}"
  curl -sS --fail-with-body --retry 5 --retry-connrefused -w '\n' "$url" \
    -H "authorization: Bearer $DEVICE_KEY" -H 'content-type: application/json' -d "$body"
  if ((i < readings)); then sleep "$interval"; fi
done
