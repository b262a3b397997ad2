#!/bin/sh
# Which MXNet stack to install: prints "gpu" or "cpu" on stdout and one line saying why on stderr.
#
# The GPU stack (mxnet-cu112 1.9.1) is chosen only when both hold:
#   1. nvidia-smi lists a GPU whose compute capability has kernels in MXNet 1.9.1's GPU wheels
#      (SASS for sm_50, 60, 70, 80, 86; a cubin runs on the same major version with an equal or
#      higher minor, so 7.5 and 8.9 are served, 9.0 (H100/H200) and 3.7 are not);
#   2. the CUDA 11 runtime and cuBLAS load (libcudart.so.11.0 and libcublas.so.11 are found by the
#      dynamic linker or in LD_LIBRARY_PATH), without which `import mxnet` fails on the GPU wheel.
# Anything else, including a driver that does not answer, gives the CPU stack.
set -u

kernels_for() {   # $1 = "8.6": is there an SASS build of the same major with minor <= it?
    major=${1%%.*}
    minor=${1#*.}
    for built in 5.0 6.0 7.0 8.0 8.6; do
        if [ "${built%%.*}" = "$major" ] && [ "${built#*.}" -le "$minor" ]; then
            return 0
        fi
    done
    return 1
}

library_found() {  # $1 = file name
    if command -v ldconfig >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q "$1"; then
        return 0
    fi
    old_ifs=$IFS
    IFS=:
    for folder in ${LD_LIBRARY_PATH:-}; do
        if [ -n "$folder" ] && [ -e "$folder/$1" ]; then
            IFS=$old_ifs
            return 0
        fi
    done
    IFS=$old_ifs
    return 1
}

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "cpu stack: no nvidia-smi, so no NVIDIA driver" >&2
    echo cpu
    exit 0
fi
listing=$(nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>/dev/null) || listing=""
if [ -z "$listing" ]; then
    echo "cpu stack: nvidia-smi lists no GPU (or the driver does not answer)" >&2
    echo cpu
    exit 0
fi
usable=""
unusable=""
# Each line: "NVIDIA H200, 9.0"
while IFS= read -r line; do
    name=$(printf '%s' "${line%,*}" | sed 's/^ *//; s/ *$//')
    capability=$(printf '%s' "${line##*,}" | tr -d ' ')
    case "$capability" in
        [0-9]*.[0-9]*) ;;
        *) unusable="$unusable, $name (compute capability unknown)"; continue ;;
    esac
    if kernels_for "$capability"; then
        usable="$usable, $name ($capability)"
    else
        unusable="$unusable, $name ($capability: MXNet 1.9.1 has no kernels for it)"
    fi
done <<EOF
$listing
EOF
if [ -z "$usable" ]; then
    echo "cpu stack: no GPU that MXNet 1.9.1 can run on${unusable:+ (found ${unusable#, })}" >&2
    echo cpu
    exit 0
fi
for library in libcudart.so.11.0 libcublas.so.11; do
    if ! library_found "$library"; then
        echo "cpu stack: ${usable#, } would do, but $library is not installed (CUDA 11.2 runtime; see docs/stack.md)" >&2
        echo cpu
        exit 0
    fi
done
echo "gpu stack: ${usable#, }" >&2
echo gpu
