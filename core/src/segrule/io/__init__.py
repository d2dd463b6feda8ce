"""Input and output: table sources, output formats and the atomic sink, output paths
and their guards, the run manifest, Parquet checksums, cleanup of temporary files."""
