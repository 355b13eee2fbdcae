#!/usr/bin/env bash
# Deploys convnet with the release profile to a file repository, target/staging (tests skipped; nothing is
# installed into ~/.m2), and checks that layout against Maven Central's rules with scripts/CheckStaging.java:
# POM metadata, jar + sources + javadoc, checksums, and signatures when signing was on.
#   scripts/check-staging.sh [MAVEN_OPTION ...]   e.g. -Dgpg.keyname=ID to sign (unsigned by default)
#   scripts/check-staging.sh --check-only [--signed|--unsigned] DIR   check an existing layout only
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--check-only" ]; then
  shift
  exec java scripts/CheckStaging.java "$@"
fi
rm -rf target/staging
mvn -B -q -Prelease deploy -DaltDeploymentRepository=local::file:target/staging -DskipTests \
  -Dmaven.install.skip=true "$@"
exec java scripts/CheckStaging.java target/staging
