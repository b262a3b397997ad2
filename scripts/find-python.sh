#!/bin/sh
# Prints the interpreter to build .venv with: $PYTHON if set, else python3.11, else python3 when it
# is 3.11. MXNet 1.9.1 needs numpy 1.23, which has no wheels for Python 3.12 or newer, and nine of the
# pinned packages need Python 3.11 or newer.
# Apple silicon first: no Python there can install MXNet 1.9.1, so say what works instead.
if [ "$(uname -s 2>/dev/null)" = Darwin ] && [ "$(uname -m 2>/dev/null)" = arm64 ]; then
    echo "MXNet 1.9.1 has no wheel for Apple silicon (macOS arm64), so the workshop cannot be set up with this Mac's own Python: use the workshop's container image, which runs natively as linux/arm64 in Docker Desktop, or GitHub Codespaces (README.md, 'Which way to run it')." >&2
    exit 1
fi
for cand in ${PYTHON:-} python3.11 python3; do
    command -v "$cand" >/dev/null 2>&1 || continue
    version=$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    case "$version" in
        3.11) command -v "$cand"; exit 0 ;;
    esac
done
echo "This workshop needs Python 3.11, because MXNet 1.9.1 cannot run on newer Pythons and the pinned stack needs 3.11: install python3.11 and run make again, or use conda: 'conda env create -f environment-cpu.yml' (or environment.yml on a GPU machine)." >&2
exit 1
