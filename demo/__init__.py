"""Demo data for ``make run`` and the benchmarks: a loader beside the other apps, never imported by
the core. ``manage.py seed_demo`` is its entry point; it refuses unless ``DEBUG`` is on."""
