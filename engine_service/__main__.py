"""The container's entrypoint: ``python -m engine_service``."""

from engine_service.service import main

main()
