#!/bin/sh
# Debian packages that the report (PDF) and the browser tests need, installed only when missing.
#   libpango-1.0-0, libpangoft2-1.0-0  WeasyPrint's text layout (PDF report)
#   poppler-utils                      pdftoppm/pdftotext, to check the PDF in tests
#   chromium                           the real browser the dashboard tests drive
#   fonts-dejavu-core                  a font for WeasyPrint and chromium on a bare machine
#   postgresql                         the dashboard's tests run its tables on PostgreSQL too (a private cluster)
set -eu
missing=""
for pkg in libpango-1.0-0 libpangoft2-1.0-0 poppler-utils chromium fonts-dejavu-core postgresql; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
echo "Installing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "Not root: install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
