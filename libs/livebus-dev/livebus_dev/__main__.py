"""`python -m livebus_dev`: what `make run` runs."""

from .devstack import main

main()
