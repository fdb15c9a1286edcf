#!/bin/sh
# Instructions `helm template rel CHART` executes, for each CHART given (valgrind's cachegrind, garbage
# collection off, one OS thread): repeatable to about 0.1%, so an A/B of a template change shows a
# difference of 5 million instructions (about half a millisecond) that wall-clock times on a shared
# machine hide. Usage: bench/instructions.sh CHART... (HELM=path/to/helm to use another Helm)
helm=${HELM:-$(dirname "$0")/../.cache/helm/4.3.1/helm}
for chart in "$@"; do
  n=$(GOGC=off GOMAXPROCS=1 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$helm" template rel "$chart" 2>&1 >/dev/null | sed -n 's/.*I *refs: *//p' | tr -d ,)
  echo "$chart $n"
done
