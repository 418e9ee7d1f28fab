"""The benchmark workloads; each module's `run(quick)` returns a result dict."""
