"""Limits on what a user can hand us, in one place (the UI, CLI and tests read them from here)."""

from __future__ import annotations

# Largest upload through the browser, in megabytes; .streamlit/config.toml says the same
# (server.maxUploadSize) and a test keeps the two equal. Larger data is imported by path.
UPLOAD_LIMIT_MB = 200
# A table wider than this is refused: it would not train well here, and its profile would not
# fit on a page. Genuinely wide data (pixels, genomics) belongs in an image or array format.
MAX_COLUMNS = 2_000
