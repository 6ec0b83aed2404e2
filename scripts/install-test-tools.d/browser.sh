# Headless Chromium for the real-browser end-to-end test (tests/e2e), driven by Playwright for
# Python through executable_path: Playwright's own browser download is never used.
# Sourced by scripts/install-test-tools.sh, which provides `need COMMAND PACKAGE`.
need chromium chromium
# Node.js 20.19+ and npm build the web UI (scripts/build-frontend.sh); Debian 12's own nodejs
# is 18, too old for Vite, so Node is not installed from here (use NodeSource's nodejs 20+).
# Readable Cyrillic in screenshots: the test pages are in Russian.
if [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then packages+=(fonts-dejavu-core); fi
