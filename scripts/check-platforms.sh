#!/usr/bin/env bash
# Resolves convnet-core's dependency set for each desktop platform the JavaCPP presets publish natives for,
# and the all-platforms profile; downloads several hundred MB per platform the first time. Not part of
# `mvn test` (it needs the network). Prints one line per platform: resolved, or what is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
mvn -B -q install -N >/dev/null   # the parent pom, which the resolve below needs
status=0
for p in linux-x86_64 linux-arm64 macosx-arm64 macosx-x86_64 windows-x86_64; do
  if out="$(mvn -B -pl convnet-core -Djavacpp.platform="$p" dependency:resolve 2>&1)"; then
    echo "$p: resolved ($(echo "$out" | grep -c ":$p"): natives for $p)"
  else
    echo "$p: NOT resolved: $(echo "$out" | grep -m1 -E 'Could not|Failure|ERROR' | cut -c1-300)"
    status=1
  fi
done
if out="$(mvn -B -pl convnet-core -Pall-platforms dependency:resolve 2>&1)"; then
  echo "all-platforms: resolved; classifiers: $(echo "$out" | grep -oE ':(linux|macosx|windows)-[a-z0-9_]+' | sort -u | tr -d ':' | tr '\n' ' ')"
else
  echo "all-platforms: NOT resolved: $(echo "$out" | grep -m1 -E 'Could not|Failure|ERROR' | cut -c1-300)"
  status=1
fi
exit $status
