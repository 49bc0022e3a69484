# Sourced by the scripts: creates .venv and installs the pinned dependencies when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat .venv/.installed 2>/dev/null || true)" != "$want" ]; then
  echo "installing Python dependencies into .venv ..."
  # python -m pip, not .venv/bin/pip: a console script's shebang breaks on a clone path with spaces
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > .venv/.installed
fi
# the repository and the shared-code layer are importable everywhere, as /opt/python is on Lambda
site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n%s\n' "$ROOT" "$ROOT/layers/common/python" > "$site/mybroker-local.pth"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
