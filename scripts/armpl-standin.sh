#!/bin/sh
# The aarch64 MXNet 1.9.1 wheel links Arm Performance Libraries (libarmpl_lp64_mp.so, libamath.so,
# libastring.so) but does not bundle them (their licence). What it calls in them is plain
# CBLAS/LAPACK/LAPACKE, so empty libraries of those names that pull in Debian's OpenBLAS and LAPACKE
# stand in for them.
#   sh scripts/armpl-standin.sh DIR     writes the three libraries into DIR
# DIR: beside libmxnet.so (its run path is $ORIGIN, so no root is needed), or a system folder named in
# /etc/ld.so.conf.d. Needs a C compiler and libopenblas0 + liblapacke (Debian/Ubuntu:
# apt install gcc libopenblas0-openmp liblapacke).
set -eu
dir=${1:?usage: sh scripts/armpl-standin.sh DIR}
cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "the Arm Performance Libraries stand-in needs a C compiler (Debian/Ubuntu: apt install gcc)" >&2; exit 1; }
empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
: >"$empty/empty.c"
mkdir -p "$dir"
# --no-as-needed keeps the links to OpenBLAS and LAPACKE, which the empty library itself never calls.
"$cc" -shared -fPIC -o "$dir/libarmpl_lp64_mp.so" "$empty/empty.c" \
    -Wl,--no-as-needed -l:libopenblas.so.0 -l:liblapacke.so.3 2>"$empty/log" || {
    echo "the Arm Performance Libraries stand-in needs OpenBLAS and LAPACKE (Debian/Ubuntu: apt install libopenblas0-openmp liblapacke)" >&2
    exit 1
}
for name in libamath.so libastring.so; do
    "$cc" -shared -fPIC -o "$dir/$name" "$empty/empty.c"
done
