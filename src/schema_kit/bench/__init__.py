"""Benchmarks of the tenant indexes: data generator, query catalogue, report.

``datagen`` builds skewed LightRAG-like data and loads it with COPY, ``queries`` holds what
the benchmarks run and the switches that remove the tenant indexes or triggers inside a
transaction, ``report`` turns pytest-benchmark's JSON into a ratio table and a plot.
"""
