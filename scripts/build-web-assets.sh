#!/bin/sh
# Refresh the dashboard's vendored front-end files from npm (package.json / package-lock.json):
#   nhsuk-frontend (compiled with sass, $nhsuk-include-font-face: false, so no outside font host)
#             -> src/triangulate/web/static/web/vendor/nhsuk.css      (served by the dashboard)
#   htmx      -> src/triangulate/web/static/web/vendor/htmx.min.js  (served by the dashboard)
#   axe-core  -> tests/web/vendor/axe.min.js                       (injected by the browser tests)
#   vega      -> src/triangulate/web/static/web/vendor/vega.min.js  (interactive charts, loaded on request;
#                the version vl-convert draws with, so the page and the SVG agree)
#   vega-interpreter -> .../vendor/vega-interpreter.js               (Vega's expressions without eval, for
#                the CSP: the ES module made a classic script that reads vega-util from the vega global)
# The copies are committed, so neither `make demo` nor `make test` needs npm; run this after
# changing a version in package.json, then commit the copies with the lock file.
set -eu
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
mkdir -p src/triangulate/web/static/web/vendor tests/web/vendor
cp node_modules/htmx.org/dist/htmx.min.js src/triangulate/web/static/web/vendor/htmx.min.js
node_modules/.bin/sass --load-path=node_modules --no-source-map --style=compressed --quiet-deps \
    --silence-deprecation=import,global-builtin,color-functions \
    src/triangulate/web/styles/nhsuk.scss src/triangulate/web/static/web/vendor/nhsuk.css
cp node_modules/axe-core/axe.min.js tests/web/vendor/axe.min.js
cp node_modules/vega/build/vega.min.js src/triangulate/web/static/web/vendor/vega.min.js
{
    printf '/* vega-interpreter %s (BSD-3-Clause), made a classic script by scripts/build-web-assets.sh */\n' \
        "$(node -p "require('./node_modules/vega-interpreter/package.json').version")"
    printf '(function () {\nconst { ascending, isString, DisallowedObjectProperties } = globalThis.vega;\n'
    sed -e "/^import .* from 'vega-util';$/d" -e "/^\/\/# sourceMappingURL=/d" -e 's/^export { expression as expressionInterpreter };$/globalThis.vegaExpressionInterpreter = expression;/' \
        node_modules/vega-interpreter/build/vega-interpreter.js
    printf '})();\n'
} > src/triangulate/web/static/web/vendor/vega-interpreter.js
for f in nhsuk-frontend htmx.org axe-core vega vega-interpreter; do
    printf '%s %s\n' "$f" "$(node -p "require('./node_modules/$f/package.json').version")"
done > src/triangulate/web/static/web/vendor/VERSIONS
echo "Vendored: $(tr '\n' ' ' < src/triangulate/web/static/web/vendor/VERSIONS)"
