#!/usr/bin/env bash
# Build every distribution of the workspace, install each wheel alone in a fresh virtual environment
# (no workspace on the path), and run its command's smoke test there.
#
#   tools/wheel_smoke.sh [DIST_DIR]      (default: dist/)
#
# Third-party dependencies come from the package index (or uv's cache); our own from DIST_DIR.
# Exit status: 0 when every wheel installs and its smoke test passes, else the first failure's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dist=${1:-$root/dist}
uv() { python3 -m uv "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$dist"
uv build --all-packages --quiet -o "$dist" "$root"
ls "$dist"/*.whl | sed "s|$dist/|built: |"

fixtures=$work/fixtures
mkdir -p "$fixtures/tree" "$fixtures/notes"
cp "$root/LICENSE-MIT" "$fixtures/tree/LICENSE"
printf '[project]\nname = "demo"\nversion = "1.0"\nlicense = "MIT"\nlicense-files = ["LICENSE"]\n' \
    >"$fixtures/tree/pyproject.toml"
cp "$root"/meetings/notes/meeting_0000*.md "$fixtures/notes/"

# distribution @ command run inside its environment @ text its output must contain
checks=(
  "wg-io@python -c 'import wg_io; print(wg_io.write_text.__name__)'@write_text"
  "wg-license@wg-license check $fixtures/tree@"
  "wg-meetings@wg-meetings check $fixtures/notes@"
  "wg-bench@wg-bench list --suites $root/bench/suites@online"
  "wg-autodiff@python -c 'import numpy as np, wg_autodiff as ad; print(ad.grad(lambda x: np.sum(x * x))(np.ones(3)))'@[2. 2. 2.]"
  "wg-online@python -c 'from wg_online.learner import OnlineLearner as L; print(L(learning_rate=0.5).fit([\"1 | good\", \"-1 | bad\"] * 20).predict([\"| good\", \"| bad\"]).tolist())'@[1, -1]"
  "wg-convnet@python -c 'import wg_convnet; print(wg_convnet.__name__)'@wg_convnet"
  "wg@wg --version@wg, version"
)
for check in "${checks[@]}"; do
    IFS='@' read -r name command expect <<<"$check"
    env=$work/venv-$name
    uv venv --quiet --python python3 "$env"
    uv pip install --quiet --python "$env/bin/python" --find-links "$dist" "$name"
    output=$(cd "$work" && PATH="$env/bin:$PATH" bash -c "$command" 2>&1) || {
        echo "wheel smoke: $name: '$command' failed:"; echo "$output"; exit 1; }
    if [[ -n $expect && $output != *"$expect"* ]]; then
        echo "wheel smoke: $name: output lacks '$expect':"; echo "$output"; exit 1
    fi
    heavy=$("$env/bin/python" -c "import importlib.util as u; print(' '.join(m for m in ('numpy', 'numba', 'scipy', 'matplotlib') if u.find_spec(m)))")
    echo "ok: $name ($command)${heavy:+; has $heavy}"
    if [[ $name == wg-license && -n $heavy ]]; then
        echo "wheel smoke: wg-license pulled in $heavy: the licence tool must stay light"; exit 1
    fi
done
echo "wheels: ${#checks[@]} passed, 0 failed"
