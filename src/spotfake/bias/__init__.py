"""Dataset bias: audit metadata shortcuts (format, JPEG quality, size) and remove them."""
