#!/usr/bin/env bash
# Print the path of a working CPython X.Y interpreter: pythonX.Y on PATH
# (pyenv shims that do not resolve are skipped), else a pyenv-installed one.
# Exit 1 when none is found.
set -u
want="$1"
works() {
    "$1" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$want'.split('.')))" \
        >/dev/null 2>&1
}
candidate=$(command -v "python$want" 2>/dev/null)
if [ -n "$candidate" ] && works "$candidate"; then
    echo "$candidate"
    exit 0
fi
root="${PYENV_ROOT:-$HOME/.pyenv}"
for dir in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
    if [ -x "$dir/bin/python$want" ] && works "$dir/bin/python$want"; then
        echo "$dir/bin/python$want"
        exit 0
    fi
done
exit 1
