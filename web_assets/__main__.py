"""`python -m web_assets`: fetch the vendored browser assets that are missing."""

from web_assets import main

main()
