#!/usr/bin/env bash
# Compiles the package with Mono and runs the core tests (make test calls this).
#   1. AvatarDriver.Protocol (no UnityEngine) and its tests; the runner prints "N passed, N failed".
#   2. The live tests against a server started here (AVATAR_DRIVER: the avatar-driver command).
#   3. The Unity-facing code (Runtime/Unity, Editor, Tests/Editor) against local stubs of
#      UnityEngine/UnityEditor/NUnit: a compile check only.
#   4. Every asset has its .meta file (Unity needs them in git packages).
set -euo pipefail
if [ -n "${AVATAR_DRIVER:-}" ]; then AVATAR_DRIVER="$(cd "$(dirname "$AVATAR_DRIVER")" && pwd)/$(basename "$AVATAR_DRIVER")"; fi
cd "$(dirname "$0")/.."
command -v mcs >/dev/null || { echo "unity_client: mcs not found: install Debian's mono-devel" >&2; exit 1; }
OUT="${UNITY_TEST_OUT:-../test-output/unity}"
mkdir -p "$OUT"
MCS=(mcs -nologo -langversion:experimental -warnaserror+ -nowarn:1591)

"${MCS[@]}" -target:library -r:System.Numerics.dll -out:"$OUT/AvatarDriver.Protocol.dll" -recurse:'Runtime/Protocol/*.cs'
"${MCS[@]}" -target:exe -r:System.Numerics.dll -r:"$OUT/AvatarDriver.Protocol.dll" -out:"$OUT/CoreTests.exe" \
    -recurse:'Tests/Core/*.cs' 'Tests/Runner~/Program.cs'
"${MCS[@]}" -target:library -out:"$OUT/UnityStubs.dll" 'Tests/Stubs~/UnityEngine.cs' 'Tests/Stubs~/NUnit.cs'
"${MCS[@]}" -target:library -r:"$OUT/AvatarDriver.Protocol.dll" -r:"$OUT/UnityStubs.dll" \
    -out:"$OUT/AvatarDriver.Runtime.dll" -recurse:'Runtime/Unity/*.cs' 'Samples~/NpcFromSession/NpcFromSession.cs'
"${MCS[@]}" -target:library -r:"$OUT/AvatarDriver.Protocol.dll" -r:"$OUT/UnityStubs.dll" -r:"$OUT/AvatarDriver.Runtime.dll" \
    -out:"$OUT/AvatarDriver.Editor.dll" -recurse:'Editor/*.cs'
"${MCS[@]}" -target:library -r:"$OUT/AvatarDriver.Protocol.dll" -r:"$OUT/UnityStubs.dll" -r:"$OUT/CoreTests.exe" \
    -out:"$OUT/AvatarDriver.Tests.Unity.dll" -recurse:'Tests/Editor/*.cs'
python3 'Tools~/make_meta.py' --check

server_pid=""
cleanup() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
if [ -n "${AVATAR_DRIVER:-}" ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    AVATAR_DRIVER_PORT=$port AVATAR_DRIVER_LOG_LEVEL=warning "$AVATAR_DRIVER" serve > "$OUT/server.log" 2>&1 &
    server_pid=$!
    up=""
    for _ in $(seq 1 150); do
        if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then up=1; break; fi
        sleep 0.2
    done
    if [ -z "$up" ]; then echo "unity_client: the server did not start:" >&2; cat "$OUT/server.log" >&2; exit 1; fi
    export AVATAR_DRIVER_URL="ws://127.0.0.1:$port"
fi
AVATAR_DRIVER_GOLDEN="$(cd ../tests/golden && pwd)" MONO_PATH="$OUT" mono "$OUT/CoreTests.exe"
