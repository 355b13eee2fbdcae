#!/usr/bin/env bash
# Builds the example against the convnet-core that `mvn install` put in ~/.m2 and runs it: RUN FOLDER.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf target/lib   # copy-dependencies only adds: a jar of an older version would stay on the class path
mvn -B -q package
OPENBLAS_NUM_THREADS=1 exec java -cp "target/classes:target/lib/*" example.PredictFolder "$@"
