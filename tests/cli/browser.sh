# shellcheck shell=bash
# Sourced by tests that open dcslab's HTML pages in a real browser: Debian's Chromium,
# headless, in a network namespace of its own (no link but a downed loopback), so
# nothing the browser might try reaches any network. Needs root (unshare --net).

# The page's DOM after its scripts ran, on stdout. $1: the page; $2: a scratch folder
# (the browser's profile and its stderr).
render_dom() {
  local page=$1 scratch=$2 browser
  browser=$(command -v chromium) || { echo "chromium is not installed (scripts/install-deps installs it)" >&2; return 1; }
  mkdir -p "$scratch"
  if ! unshare --net -- "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
      --user-data-dir="$scratch/profile" --dump-dom "file://$page" 2>"$scratch/browser.err"; then
    echo "chromium could not render $page: $(tail -5 "$scratch/browser.err")" >&2
    return 1
  fi
}

# One attribute of <body> in a DOM ($1), as the page's script left it: $2 is its name.
body_attr() { grep -o "<body[^>]*>" <<<"$1" | grep -o "$2=\"[^\"]*\"" | cut -d'"' -f2; }
