"""Data quality: Great Expectations suites on raw batches and marts, and the quarantine."""
